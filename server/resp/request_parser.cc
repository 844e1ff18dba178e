#include "server/resp/request_parser.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "server/resp/inline_args.h"

namespace kv::server::resp {
namespace {

// A length line is a prefix, at most 19 digits (or "-1") and CRLF; anything longer is refused
// without waiting for its end.
constexpr size_t kMaxLengthLine = 1 + 20 + 2;

// Strict decimal: an optional '-' then digits without leading zeros (as Redis's string2ll).
bool ParseLength(absl::string_view text, int64_t* value) {
  bool negative = false;
  if (!text.empty() && text[0] == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > 18) return false;
  if (text[0] == '0' && text.size() > 1) return false;
  int64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *value = negative ? -v : v;
  return true;
}

// Printable excerpt of bytes a client sent, for error messages.
std::string Printable(absl::string_view bytes) {
  std::string out;
  for (const char c : bytes.substr(0, 16)) {
    if (c >= 0x20 && c < 0x7f && c != '\'') {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    }
  }
  return out;
}

}  // namespace

absl::Span<char> RequestParser::PrepareRead(size_t min_bytes) {
  if (start_ == end_) {
    start_ = pos_ = end_ = 0;
  } else if (start_ > 0 && capacity_ - end_ < min_bytes) {
    std::memmove(buffer_.get(), buffer_.get() + start_, end_ - start_);
    pos_ -= start_;
    end_ -= start_;
    start_ = 0;
  }
  if (capacity_ - end_ < min_bytes) {
    const size_t wanted = std::max(capacity_ * 2, end_ + min_bytes);
    std::unique_ptr<char[]> grown(new char[wanted]);
    if (end_ > 0) std::memcpy(grown.get(), buffer_.get(), end_);
    buffer_ = std::move(grown);
    capacity_ = wanted;
  }
  if (have_command_) RebuildArgs();  // the bytes may have moved
  return absl::Span<char>(buffer_.get() + end_, capacity_ - end_);
}

void RequestParser::RebuildArgs() {
  args_.clear();
  if (!inline_args_.empty()) {
    for (const std::string& a : inline_args_) args_.emplace_back(a);
    return;
  }
  args_.reserve(spans_.size());
  for (const auto& [offset, length] : spans_) {
    args_.emplace_back(buffer_.get() + start_ + offset, length);
  }
}

void RequestParser::CommitRead(size_t bytes) { end_ += std::min(bytes, capacity_ - end_); }

void RequestParser::Append(absl::string_view bytes) {
  absl::Span<char> space = PrepareRead(std::max<size_t>(bytes.size(), 1));
  std::memcpy(space.data(), bytes.data(), bytes.size());
  CommitRead(bytes.size());
}

size_t RequestParser::bulk_bytes_missing() const {
  if (state_ != State::kArgs || bulk_length_ < 0) return 0;
  const size_t need = static_cast<size_t>(bulk_length_) + 2;
  const size_t have = end_ - pos_;
  return need > have ? need - have : 0;
}

void RequestParser::ReleaseIfEmpty() {
  if (start_ != end_ || have_command_) return;
  buffer_.reset();
  capacity_ = start_ = pos_ = end_ = 0;
  Reset();
  std::vector<std::pair<uint32_t, uint32_t>>().swap(spans_);
  std::vector<absl::string_view>().swap(args_);
}

RequestParser::Result RequestParser::Fail(std::string message) {
  error_ = std::move(message);
  have_command_ = false;
  args_.clear();
  return Result::kError;
}

void RequestParser::Reset() {
  state_ = State::kStart;
  expected_args_ = 0;
  bulk_length_ = -1;
  spans_.clear();
}

void RequestParser::Consume() {
  if (!have_command_) return;
  have_command_ = false;
  args_.clear();
  inline_args_.clear();
  start_ = pos_;
  Reset();
  if (spans_.capacity() > 4096) std::vector<std::pair<uint32_t, uint32_t>>().swap(spans_);
  if (args_.capacity() > 4096) std::vector<absl::string_view>().swap(args_);
  if (start_ == end_) start_ = pos_ = end_ = 0;
}

RequestParser::Result RequestParser::Next() {
  if (!error_.empty()) return Result::kError;
  if (have_command_) return Result::kCommand;
  while (true) {
    if (state_ == State::kStart) {
      if (pos_ == end_) return Result::kNeedMore;
      if (buffer_[pos_] != '*') {
        const Result r = ParseInline();
        if (r == Result::kCommand && args_.empty()) {  // a blank line: skipped, as Redis does
          Consume();
          continue;
        }
        return r;
      }
    }
    const Result r = ParseMultibulk();
    if (r == Result::kCommand && args_.empty()) {  // "*0" or "*-1": nothing to run
      Consume();
      continue;
    }
    return r;
  }
}

RequestParser::Result RequestParser::ParseInline() {
  const char* begin = buffer_.get() + pos_;
  const size_t available = end_ - pos_;
  const void* newline = std::memchr(begin, '\n', available);
  if (newline == nullptr) {
    if (available > limits_.max_inline_bytes) {
      return Fail(absl::StrCat("Protocol error: too big inline request (more than ",
                               limits_.max_inline_bytes, " bytes without a line end)"));
    }
    return Result::kNeedMore;
  }
  size_t length = static_cast<const char*>(newline) - begin;
  if (length > limits_.max_inline_bytes) {
    return Fail(absl::StrCat("Protocol error: too big inline request (more than ",
                             limits_.max_inline_bytes, " bytes)"));
  }
  pos_ += length + 1;
  if (length > 0 && begin[length - 1] == '\r') --length;
  inline_args_.clear();
  if (!SplitInlineArgs(absl::string_view(begin, length), &inline_args_)) {
    return Fail("Protocol error: unbalanced quotes in request");
  }
  if (inline_args_.size() > limits_.max_args) {
    return Fail(absl::StrCat("Protocol error: more than ", limits_.max_args,
                             " arguments in an inline request"));
  }
  RebuildArgs();
  have_command_ = true;
  return Result::kCommand;
}

bool RequestParser::ReadLengthLine(char prefix, int64_t* value, bool* failed, const char* what) {
  *failed = false;
  const char* begin = buffer_.get() + pos_;
  const size_t available = end_ - pos_;
  const size_t scan = std::min(available, kMaxLengthLine);
  const void* cr = scan > 1 ? std::memchr(begin + 1, '\r', scan - 1) : nullptr;
  if (cr == nullptr) {
    if (available >= kMaxLengthLine) {
      *failed = true;
      Fail(absl::StrCat("Protocol error: invalid ", what, " (no line end after '",
                        Printable(absl::string_view(begin, scan)), "')"));
    }
    return false;
  }
  const size_t digits_end = static_cast<const char*>(cr) - begin;
  if (digits_end + 1 >= available) return false;  // the '\n' has not arrived
  const absl::string_view text(begin + 1, digits_end - 1);
  if (begin[0] != prefix || begin[digits_end + 1] != '\n' || !ParseLength(text, value)) {
    *failed = true;
    Fail(absl::StrCat("Protocol error: invalid ", what, " '", Printable(text), "'"));
    return false;
  }
  pos_ += digits_end + 2;
  return true;
}

RequestParser::Result RequestParser::ParseMultibulk() {
  bool failed = false;
  if (state_ == State::kStart) {
    int64_t count = 0;
    if (!ReadLengthLine('*', &count, &failed, "multibulk length")) {
      return failed ? Result::kError : Result::kNeedMore;
    }
    if (count > static_cast<int64_t>(limits_.max_args)) {
      return Fail(absl::StrCat("Protocol error: invalid multibulk length (", count,
                               " arguments; at most ", limits_.max_args, ")"));
    }
    state_ = State::kArgs;
    expected_args_ = count;
    bulk_length_ = -1;
    spans_.clear();
    // Reserve by what can have arrived, never by the count the client claims.
    spans_.reserve(std::min<size_t>(static_cast<size_t>(std::max<int64_t>(count, 0)), 64));
  }
  while (static_cast<int64_t>(spans_.size()) < expected_args_) {
    if (bulk_length_ < 0) {
      if (pos_ == end_) return Result::kNeedMore;
      if (buffer_[pos_] != '$') {
        return Fail(absl::StrCat("Protocol error: expected '$', got '",
                                 Printable(absl::string_view(buffer_.get() + pos_, 1)), "'"));
      }
      int64_t length = 0;
      if (!ReadLengthLine('$', &length, &failed, "bulk length")) {
        return failed ? Result::kError : Result::kNeedMore;
      }
      if (length < 0 || static_cast<uint64_t>(length) > limits_.max_bulk_bytes) {
        return Fail(absl::StrCat("Protocol error: invalid bulk length (", length,
                                 " bytes; this node takes at most ", limits_.max_bulk_bytes,
                                 ": its largest value plus 64 KiB)"));
      }
      if ((pos_ - start_) + static_cast<size_t>(length) + 2 > limits_.max_command_bytes) {
        return Fail(absl::StrCat("Protocol error: command larger than ", limits_.max_command_bytes,
                                 " bytes"));
      }
      bulk_length_ = length;
    }
    const size_t need = static_cast<size_t>(bulk_length_) + 2;
    if (end_ - pos_ < need) return Result::kNeedMore;
    const char* data = buffer_.get() + pos_;
    if (data[bulk_length_] != '\r' || data[bulk_length_ + 1] != '\n') {
      return Fail("Protocol error: bulk string not followed by CRLF");
    }
    spans_.emplace_back(static_cast<uint32_t>(pos_ - start_), static_cast<uint32_t>(bulk_length_));
    pos_ += need;
    bulk_length_ = -1;
  }
  inline_args_.clear();
  RebuildArgs();
  have_command_ = true;
  return Result::kCommand;
}

}  // namespace kv::server::resp

#include "server/resp/reply_writer.h"

#include <cmath>
#include <cstdio>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kv::server::resp {
namespace {

bool HasLineBreak(absl::string_view text) {
  return text.find_first_of("\r\n") != absl::string_view::npos;
}

}  // namespace

std::string OneLine(absl::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

void ReplyWriter::Header(char type, int64_t count) {
  char buf[32];
  buf[0] = type;
  char* end = absl::numbers_internal::FastIntToBuffer(count, buf + 1);
  *end++ = '\r';
  *end++ = '\n';
  out_->Append(absl::string_view(buf, static_cast<size_t>(end - buf)));
}

void ReplyWriter::SimpleString(absl::string_view text) {
  out_->Append("+");
  if (HasLineBreak(text)) {
    out_->Append(OneLine(text));
  } else {
    out_->Append(text);
  }
  out_->Append("\r\n");
}

void ReplyWriter::Error(absl::string_view error) {
  out_->Append("-");
  if (HasLineBreak(error)) {
    out_->Append(OneLine(error));
  } else {
    out_->Append(error);
  }
  out_->Append("\r\n");
}

void ReplyWriter::Integer(int64_t value) { Header(':', value); }

void ReplyWriter::Bulk(absl::string_view bytes) {
  if (bytes.size() < ReplyBuffer::kOwnSegmentBytes) out_->Reserve(bytes.size() + 24);
  Header('$', static_cast<int64_t>(bytes.size()));
  out_->Append(bytes);
  out_->Append("\r\n");
}

void ReplyWriter::BulkOwned(std::string&& bytes) {
  if (bytes.size() < ReplyBuffer::kOwnSegmentBytes) out_->Reserve(bytes.size() + 24);
  Header('$', static_cast<int64_t>(bytes.size()));
  out_->AppendOwned(std::move(bytes));
  out_->Append("\r\n");
}

void ReplyWriter::Null() { out_->Append(protocol_ >= 3 ? "_\r\n" : "$-1\r\n"); }

void ReplyWriter::NullArray() { out_->Append(protocol_ >= 3 ? "_\r\n" : "*-1\r\n"); }

void ReplyWriter::ArrayHeader(size_t count) { Header('*', static_cast<int64_t>(count)); }

void ReplyWriter::MapHeader(size_t pairs) {
  if (protocol_ >= 3) {
    Header('%', static_cast<int64_t>(pairs));
  } else {
    Header('*', static_cast<int64_t>(pairs * 2));
  }
}

void ReplyWriter::SetHeader(size_t count) {
  Header(protocol_ >= 3 ? '~' : '*', static_cast<int64_t>(count));
}

void ReplyWriter::Double(double value) {
  std::string text;
  if (std::isnan(value)) {
    text = "nan";
  } else if (std::isinf(value)) {
    text = value > 0 ? "inf" : "-inf";
  } else {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.17g", value);
    text = buf;
    // The shortest of %.15g/%.17g that reads back the same value.
    char shorter[64];
    std::snprintf(shorter, sizeof(shorter), "%.15g", value);
    double back = 0;
    if (absl::SimpleAtod(shorter, &back) && back == value) text = shorter;
  }
  if (protocol_ >= 3) {
    out_->Append(",");
    out_->Append(text);
    out_->Append("\r\n");
  } else {
    Bulk(text);
  }
}

void ReplyWriter::Boolean(bool value) {
  if (protocol_ >= 3) {
    out_->Append(value ? "#t\r\n" : "#f\r\n");
  } else {
    out_->Append(value ? ":1\r\n" : ":0\r\n");
  }
}

void ReplyWriter::Verbatim(absl::string_view text) {
  if (protocol_ < 3) {
    Bulk(text);
    return;
  }
  Header('=', static_cast<int64_t>(text.size() + 4));
  out_->Append("txt:");
  out_->Append(text);
  out_->Append("\r\n");
}

}  // namespace kv::server::resp

#pragma once
// An incremental parser of Redis requests: multibulk ("*2\r\n$3\r\nGET\r\n$1\r\na\r\n") and
// inline commands ("GET a\r\n", split like Redis's sdssplitargs, quotes and escapes included).
//
// The parser owns the connection's input buffer: the connection reads straight into
// PrepareRead()'s space and commits what arrived. Next() resumes where it stopped, so a command
// arriving in many small reads is scanned once. Hard limits (ParserLimits): a claimed argument
// count or bulk length over its limit is a protocol error at once, and memory grows only with
// bytes that actually arrived (never by a claimed length). A protocol error is final: the
// connection answers it and closes, as Redis does.
//
//   parser.CommitRead(socket.read_some(parser.PrepareRead()));
//   while (parser.Next() == RequestParser::Result::kCommand) {
//     Handle(parser.args());  // views into the buffer
//     parser.Consume();
//   }
//
// Thread-compatible: one connection's thread uses it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/resp/parser_limits.h"

namespace kv::server::resp {

class RequestParser {
 public:
  enum class Result {
    kCommand,   // args() holds the next command
    kNeedMore,  // the buffered bytes end inside a command (or there are none)
    kError,     // a protocol error (error()); final
  };

  explicit RequestParser(const ParserLimits& limits) : limits_(limits) {}
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Space for the next read, at least `min_bytes` long: consumed bytes are dropped from the
  // front first, then the buffer grows geometrically. Views from args() taken before are
  // invalidated (args() itself is kept up to date).
  absl::Span<char> PrepareRead(size_t min_bytes = kReadBytes);
  // Marks `bytes` of the prepared space as filled.
  void CommitRead(size_t bytes);
  // PrepareRead + copy + CommitRead (tests, fuzzing).
  void Append(absl::string_view bytes);

  // Parses the next command. After kCommand, args() is valid until Consume(), and Next()
  // returns the same command again until Consume() is called.
  Result Next();
  const std::vector<absl::string_view>& args() const { return args_; }
  // Drops the command returned by Next().
  void Consume();

  // The protocol error after kError, e.g. "Protocol error: invalid bulk length ...".
  const std::string& error() const { return error_; }
  // Bytes buffered and not consumed (a partial command, or commands not parsed yet).
  size_t buffered() const { return end_ - start_; }
  // Those bytes, from the command Next() returns (or will) on; valid until PrepareRead.
  absl::string_view Unconsumed() const { return {buffer_.get() + start_, end_ - start_}; }
  // Bytes a partial bulk string still needs (0 if not inside one), a hint for read sizes.
  size_t bulk_bytes_missing() const;
  size_t capacity() const { return capacity_; }
  // Frees the buffer when nothing is buffered (an idle connection keeps no memory).
  void ReleaseIfEmpty();

  static constexpr size_t kReadBytes = 16 * 1024;

 private:
  enum class State { kStart, kArgs };

  Result ParseInline();
  Result ParseMultibulk();
  // Reads a "<prefix><integer>\r\n" line at pos_; false when incomplete (or *failed).
  bool ReadLengthLine(char prefix, int64_t* value, bool* failed, const char* what);
  Result Fail(std::string message);
  // Points args_ at the held command's arguments.
  void RebuildArgs();
  void Reset();

  const ParserLimits limits_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  size_t start_ = 0;  // first byte of the command being parsed
  size_t pos_ = 0;    // next byte to parse
  size_t end_ = 0;    // end of the bytes read
  State state_ = State::kStart;
  bool have_command_ = false;
  int64_t expected_args_ = 0;  // multibulk: the count announced
  int64_t bulk_length_ = -1;   // inside a bulk: its length, else -1
  // Multibulk arguments so far: (offset from start_, length).
  std::vector<std::pair<uint32_t, uint32_t>> spans_;
  std::vector<std::string> inline_args_;  // an inline command's arguments (unescaped)
  std::vector<absl::string_view> args_;
  std::string error_;
};

}  // namespace kv::server::resp

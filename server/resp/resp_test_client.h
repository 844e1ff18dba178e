#pragma once
// For tests: a blocking RESP client over RawSocket (server/http/raw_test_socket.h) and a parser
// of RESP2/RESP3 replies into a tree, so tests can compare reply shapes, send raw bytes (half
// commands, hostile lengths) and see when the server closes.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/http/raw_test_socket.h"

namespace kv::server::resp::testing {

struct RespValue {
  enum class Type {
    kSimple,    // +
    kError,     // -
    kInteger,   // :
    kBulk,      // $
    kNull,      // $-1, *-1, _
    kArray,     // *
    kMap,       // % (elements: key, value, key, value, ...)
    kSet,       // ~
    kDouble,    // ,
    kBoolean,   // # (integer 1/0)
    kVerbatim,  // = (str without the "txt:" format)
    kPush,      // >
  };
  Type type = Type::kNull;
  std::string str;
  int64_t integer = 0;
  std::vector<RespValue> elements;
  // RESP2 null: "$-1" or "*-1" (type kNull either way); RESP3 "_".
  char null_kind = 0;

  bool is_error() const { return type == Type::kError; }
  // Compact text for assertions: +OK -> "OK", errors "(error) ...", integers "(integer) 5",
  // bulks "\"bytes\"", null "(nil)", arrays "[a, b]", maps "{k: v}", sets "~[...]".
  std::string ToString() const;
};

// Parses one reply at the start of `data`: bytes consumed, or 0 when incomplete.
// InvalidArgument when the bytes are not RESP.
absl::StatusOr<size_t> ParseReply(absl::string_view data, RespValue* out);

class RespTestClient {
 public:
  static absl::StatusOr<RespTestClient> Connect(int port, int receive_buffer = 0) {
    absl::StatusOr<kv::server::testing::RawSocket> socket =
        kv::server::testing::RawSocket::Connect(port, receive_buffer);
    if (!socket.ok()) return socket.status();
    RespTestClient client;
    client.socket_ = std::move(*socket);
    return client;
  }

  // The command as a multibulk.
  static std::string Encode(const std::vector<std::string>& args) {
    std::string out = absl::StrCat("*", args.size(), "\r\n");
    for (const std::string& a : args) absl::StrAppend(&out, "$", a.size(), "\r\n", a, "\r\n");
    return out;
  }

  absl::Status SendRaw(absl::string_view bytes) { return socket_.SendAll(bytes); }
  absl::Status Send(const std::vector<std::string>& args) { return SendRaw(Encode(args)); }

  // The next reply, waiting up to `timeout`. Unavailable when the server closed first.
  absl::StatusOr<RespValue> Read(absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      RespValue value;
      absl::StatusOr<size_t> used = ParseReply(buffer_, &value);
      if (!used.ok()) return used.status();
      if (*used > 0) {
        buffer_.erase(0, *used);
        return value;
      }
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("no reply in time");
      bool closed = false;
      absl::StatusOr<std::string> piece = socket_.ReadSome(1 << 20, left, &closed);
      if (!piece.ok()) return piece.status();
      if (closed) return absl::UnavailableError("connection closed by the server");
      buffer_ += *piece;
    }
  }

  absl::StatusOr<RespValue> Call(const std::vector<std::string>& args,
                                 absl::Duration timeout = absl::Seconds(10)) {
    if (absl::Status s = Send(args); !s.ok()) return s;
    return Read(timeout);
  }

  // Call(...)->ToString(), or the failure's text.
  std::string CallText(const std::vector<std::string>& args) {
    absl::StatusOr<RespValue> v = Call(args);
    return v.ok() ? v->ToString() : absl::StrCat("<", v.status().ToString(), ">");
  }

  // True when the server closes the connection within `timeout` (what it sends is dropped).
  bool WaitClosed(absl::Duration timeout = absl::Seconds(10)) {
    bool closed = false;
    socket_.ReadUntilClosed(timeout, &closed);
    return closed;
  }

  kv::server::testing::RawSocket& socket() { return socket_; }
  // Bytes received and not yet parsed.
  const std::string& pending() const { return buffer_; }

 private:
  kv::server::testing::RawSocket socket_;
  std::string buffer_;
};

}  // namespace kv::server::resp::testing

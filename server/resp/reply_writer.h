#pragma once
// Encodes replies in RESP2 or RESP3 into a ReplyBuffer. Types RESP2 lacks are written the way
// Redis writes them for a RESP2 client: a map as a flat array of 2n elements, a set as an array,
// a double as a bulk string, a boolean as 1/0, a verbatim string as a bulk string, and null as
// "$-1" (a null array as "*-1"). RESP3 gets "%", "~", ",", "#", "=" and "_".
//
// Thread-compatible; the buffer outlives the writer.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "server/resp/reply_buffer.h"

namespace kv::server::resp {

class ReplyWriter {
 public:
  // `protocol` is 2 or 3.
  ReplyWriter(ReplyBuffer* out, int protocol) : out_(out), protocol_(protocol) {}

  int protocol() const { return protocol_; }
  ReplyBuffer* buffer() const { return out_; }

  // "+text"; CR and LF in `text` become spaces.
  void SimpleString(absl::string_view text);
  void Ok() { out_->Append("+OK\r\n"); }
  // "-PREFIX message": `error` starts with its prefix ("ERR ...", "STALE ..."). CR and LF
  // become spaces, so a message can never end the line early.
  void Error(absl::string_view error);
  void Integer(int64_t value);
  void Bulk(absl::string_view bytes);
  // A bulk string whose payload is moved in (no copy when large).
  void BulkOwned(std::string&& bytes);
  // Null: RESP2 "$-1", RESP3 "_".
  void Null();
  // Null array: RESP2 "*-1", RESP3 "_".
  void NullArray();
  void ArrayHeader(size_t count);
  // A map of `pairs` key/value pairs: RESP3 "%", RESP2 an array of 2 * pairs.
  void MapHeader(size_t pairs);
  // RESP3 "~", RESP2 an array.
  void SetHeader(size_t count);
  // RESP3 ",", RESP2 a bulk string (shortest form that reads back the same).
  void Double(double value);
  // RESP3 "#t"/"#f", RESP2 1/0.
  void Boolean(bool value);
  // RESP3 "=N\r\ntxt:..." (INFO, CLIENT INFO), RESP2 a bulk string.
  void Verbatim(absl::string_view text);

 private:
  void Header(char type, int64_t count);

  ReplyBuffer* const out_;
  const int protocol_;
};

// Replaces CR and LF with spaces (for simple strings and errors).
std::string OneLine(absl::string_view text);

}  // namespace kv::server::resp

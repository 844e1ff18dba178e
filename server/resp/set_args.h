#pragma once
// SET's options (EX, PX, EXAT, PXAT, KEEPTTL, NX, XX, GET), parsed and checked as Redis does,
// and mapped onto a PutRequest's expiration fields. Expirations are whole seconds in this
// store: PX and PXAT round up to the next second.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kv::server::resp {

struct SetArgs {
  enum class Condition { kNone, kNotExists, kExists };
  Condition condition = Condition::kNone;  // NX / XX
  bool get = false;                        // GET: reply with the old value
  bool keep_ttl = false;                   // KEEPTTL
  int64_t ttl_seconds = 0;                 // EX, PX (rounded up)
  int64_t expiration = 0;                  // EXAT, PXAT (rounded up), Unix seconds

  // The old entry must be read first: GET (its value), XX (that it exists), KEEPTTL (its
  // expiration). Then the write is conditional on the version read.
  bool ReadsFirst() const { return get || keep_ttl || condition == Condition::kExists; }
};

// Parses the options after SET key value. On failure returns the error reply ("ERR syntax
// error", "ERR invalid expire time in 'set' command", ...).
std::optional<std::string> ParseSetArgs(absl::Span<const absl::string_view> options, SetArgs* out);

}  // namespace kv::server::resp

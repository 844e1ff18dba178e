#pragma once
// The error replies of the RESP front end, in one place: how a node's status becomes a Redis
// error prefix, and the argument errors Redis clients know by their text.
//
//   status code                          reply
//   INVALID_ARGUMENT, OUT_OF_RANGE,      -ERR <message>
//   RESOURCE_EXHAUSTED, NOT_FOUND, ...
//   UNAUTHENTICATED                      -NOAUTH <message> (no token given), -WRONGPASS <message>
//   PERMISSION_DENIED                    -NOPERM <message>
//   UNAVAILABLE on a read                -STALE <message> (the node cannot answer within its
//                                        staleness bound or min_version; KV.ALLOWSTALE on)
//   UNAVAILABLE on a write, DEADLINE_    -TRYAGAIN <message>
//   EXCEEDED
//   FAILED_PRECONDITION                  a conditional SET (NX, XX, GET) answers nil instead;
//                                        elsewhere -ERR <message>
//   anything else                        -ERR <CODE_NAME>: <message>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/node/limits.h"

namespace kv::server::resp {

enum class CallKind { kRead, kWrite };

// The error reply, without its leading '-', for a failed node call. `has_token` tells NOAUTH
// (no credentials were given) from WRONGPASS (the given ones were refused).
std::string ErrorForStatus(const absl::Status& status, CallKind kind, bool has_token);

// "ERR wrong number of arguments for 'get' command"
std::string WrongArity(absl::string_view command);
// "ERR unknown command 'FOO', with args beginning with: 'a' 'b' " (Redis 7's text; each piece
// shortened and made printable).
std::string UnknownCommand(absl::string_view command, absl::Span<const absl::string_view> args);
// "ERR unknown subcommand 'X'. Try CLIENT HELP."
std::string UnknownSubcommand(absl::string_view command, absl::string_view subcommand);
inline constexpr absl::string_view kSyntaxError = "ERR syntax error";
inline constexpr absl::string_view kNotInteger = "ERR value is not an integer or out of range";

// A key the node would refuse (empty, or longer than max_key_bytes), as an error reply; nullopt
// when it is fine.
std::optional<std::string> CheckKey(const Limits& limits, absl::string_view key);
// A value over max_value_bytes, as an error reply; nullopt when it is fine.
std::optional<std::string> CheckValue(const Limits& limits, absl::string_view value);

// Strict integers as Redis parses them (no spaces, no '+', no leading zeros).
bool ParseInt64(absl::string_view text, int64_t* value);
bool ParseUint64(absl::string_view text, uint64_t* value);

// At most `max` bytes of `bytes`, with bytes outside printable ASCII written as \xHH.
std::string Printable(absl::string_view bytes, size_t max = 128);

}  // namespace kv::server::resp

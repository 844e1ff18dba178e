#include "server/resp/set_args.h"

#include "absl/strings/match.h"
#include "server/resp/errors.h"

namespace kv::server::resp {
namespace {

constexpr absl::string_view kInvalidExpire = "ERR invalid expire time in 'set' command";

// Milliseconds to whole seconds, rounded up.
int64_t CeilSeconds(int64_t millis) { return millis / 1000 + (millis % 1000 != 0 ? 1 : 0); }

}  // namespace

std::optional<std::string> ParseSetArgs(absl::Span<const absl::string_view> options, SetArgs* out) {
  bool has_expire = false;
  for (size_t i = 0; i < options.size(); ++i) {
    const absl::string_view o = options[i];
    const bool has_value = i + 1 < options.size();
    if (absl::EqualsIgnoreCase(o, "NX") && out->condition != SetArgs::Condition::kExists) {
      out->condition = SetArgs::Condition::kNotExists;
    } else if (absl::EqualsIgnoreCase(o, "XX") &&
               out->condition != SetArgs::Condition::kNotExists) {
      out->condition = SetArgs::Condition::kExists;
    } else if (absl::EqualsIgnoreCase(o, "GET")) {
      out->get = true;
    } else if (absl::EqualsIgnoreCase(o, "KEEPTTL") && !has_expire) {
      out->keep_ttl = true;
      has_expire = true;
    } else if ((absl::EqualsIgnoreCase(o, "EX") || absl::EqualsIgnoreCase(o, "PX") ||
                absl::EqualsIgnoreCase(o, "EXAT") || absl::EqualsIgnoreCase(o, "PXAT")) &&
               !has_expire && has_value) {
      int64_t n = 0;
      if (!ParseInt64(options[++i], &n)) return std::string(kNotInteger);
      if (n <= 0) return std::string(kInvalidExpire);
      const bool millis = o[0] == 'P' || o[0] == 'p';
      const int64_t seconds = millis ? CeilSeconds(n) : n;
      if (o.size() == 2) {
        out->ttl_seconds = seconds;
      } else {
        out->expiration = seconds;
      }
      has_expire = true;
    } else {
      return std::string(kSyntaxError);
    }
  }
  return std::nullopt;
}

}  // namespace kv::server::resp

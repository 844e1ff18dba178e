#include "auth/bearer.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "auth/refusal.h"

namespace kv::auth {

absl::StatusOr<absl::string_view> ExtractBearerToken(std::optional<absl::string_view> value) {
  if (!value.has_value() || value->empty()) {
    return RefusalStatus(Refusal::kMissing, "no authorization metadata");
  }
  absl::string_view v = *value;
  if (v.size() < 7 || !absl::StartsWithIgnoreCase(v, "bearer") || v[6] != ' ') {
    return RefusalStatus(Refusal::kMissing, "authorization is not a Bearer credential");
  }
  v.remove_prefix(7);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return RefusalStatus(Refusal::kMissing, "empty Bearer credential");
  for (char c : v) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return RefusalStatus(Refusal::kMalformed,
                           "Bearer credential has whitespace or control bytes");
    }
  }
  return v;
}

}  // namespace kv::auth

#include "auth/claims.h"

#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "auth/base64url.h"
#include "auth/refusal.h"
#include "auth/strict_json.h"

namespace kv::auth {
namespace {

using json = nlohmann::json;

absl::Status Malformed(absl::string_view why) { return RefusalStatus(Refusal::kMalformed, why); }

// Reads a NumericDate (seconds, possibly fractional); `round_up` for nbf, down for exp, so a
// fraction never extends validity. nullopt when absent; an error when not a sane number.
absl::StatusOr<std::optional<int64_t>> NumericDate(const json& claims, const char* name,
                                                   bool round_up) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<int64_t>();
  // Year 9999 bounds everything and keeps the arithmetic below far from overflow.
  constexpr double kMax = 253402300799.0;
  double v = 0;
  if (it->is_number_integer() || it->is_number_unsigned() || it->is_number_float()) {
    v = it->get<double>();
  } else {
    return Malformed(absl::StrCat("claim \"", name, "\" is not a number"));
  }
  if (!std::isfinite(v) || v < 0 || v > kMax) {
    return Malformed(absl::StrCat("claim \"", name, "\" is out of range"));
  }
  return std::optional<int64_t>(static_cast<int64_t>(round_up ? std::ceil(v) : std::floor(v)));
}

absl::Status CheckAudience(const json& claims, const std::vector<std::string>& wanted) {
  auto it = claims.find("aud");
  if (it == claims.end()) {
    if (wanted.empty()) return absl::OkStatus();
    return RefusalStatus(Refusal::kWrongAudience, "token has no \"aud\"");
  }
  std::vector<const std::string*> present;
  if (it->is_string()) {
    present.push_back(&it->get_ref<const std::string&>());
  } else if (it->is_array()) {
    for (const json& a : *it) {
      if (!a.is_string()) return Malformed("claim \"aud\" has a non-string member");
      present.push_back(&a.get_ref<const std::string&>());
    }
  } else {
    return Malformed("claim \"aud\" is neither a string nor an array");
  }
  if (wanted.empty()) return absl::OkStatus();
  for (const std::string* p : present) {
    for (const std::string& w : wanted) {
      if (*p == w) return absl::OkStatus();
    }
  }
  return RefusalStatus(Refusal::kWrongAudience, "token is not meant for this audience");
}

}  // namespace

absl::StatusOr<Principal> CheckClaims(absl::string_view payload_b64, const ClaimRules& rules,
                                      int64_t now_unix_micros) {
  absl::StatusOr<std::string> bytes = Base64UrlDecode(payload_b64);
  if (!bytes.ok()) return Malformed(absl::StrCat("payload: ", bytes.status().message()));
  StrictJsonOptions json_options;
  json_options.max_depth = 8;
  absl::StatusOr<json> claims = ParseStrictJson(*bytes, json_options);
  if (!claims.ok()) return Malformed(absl::StrCat("payload: ", claims.status().message()));

  absl::StatusOr<std::optional<int64_t>> exp = NumericDate(*claims, "exp", false);
  if (!exp.ok()) return exp.status();
  absl::StatusOr<std::optional<int64_t>> nbf = NumericDate(*claims, "nbf", true);
  if (!nbf.ok()) return nbf.status();
  absl::StatusOr<std::optional<int64_t>> iat = NumericDate(*claims, "iat", false);
  if (!iat.ok()) return iat.status();

  const int64_t skew_micros = absl::ToInt64Microseconds(rules.clock_skew);
  if (!exp->has_value()) {
    if (rules.require_exp) return Malformed("token has no \"exp\"");
  } else if (now_unix_micros > **exp * 1'000'000 + skew_micros) {
    return RefusalStatus(Refusal::kExpired,
                         absl::StrCat("token expired at ", **exp, " (Unix seconds)"));
  }
  if (nbf->has_value() && now_unix_micros + skew_micros < **nbf * 1'000'000) {
    return RefusalStatus(Refusal::kNotYetValid,
                         absl::StrCat("token is not valid before ", **nbf, " (Unix seconds)"));
  }

  auto iss = claims->find("iss");
  if (iss != claims->end() && !iss->is_string()) return Malformed("claim \"iss\" is not a string");
  if (!rules.issuer.empty() && (iss == claims->end() || *iss != rules.issuer)) {
    return RefusalStatus(Refusal::kWrongIssuer, "token is not from the expected issuer");
  }
  if (absl::Status s = CheckAudience(*claims, rules.audiences); !s.ok()) return s;

  Principal principal;
  if (auto sub = claims->find("sub"); sub != claims->end()) {
    if (!sub->is_string()) return Malformed("claim \"sub\" is not a string");
    principal.subject = sub->get<std::string>();
  }
  if (auto scope = claims->find("scope"); scope != claims->end()) {
    if (!scope->is_string()) return Malformed("claim \"scope\" is not a string");
    principal.permissions = Permissions::Parse(scope->get_ref<const std::string&>());
  }
  principal.expires_unix = exp->value_or(0);
  return principal;
}

}  // namespace kv::auth

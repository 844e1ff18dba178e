#pragma once
// Why a request's credentials were refused. Each reason has a fixed lower-case label meant for
// a metric label (bounded cardinality) and travels inside the UNAUTHENTICATED absl::Status that
// the verifier returns, as a payload, next to a human message that never repeats the token.

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kv::auth {

enum class Refusal {
  kMissing,       // no authorization metadata, or not "Bearer <token>"
  kMalformed,     // not a JWS compact token we accept: segments, base64url, JSON, claim types, size
  kBadSignature,  // no key the token may name verified the signature
  kAlgNotAllowed,  // "none", an unknown alg, or an alg the selected key is not for
  kExpired,        // now > exp + skew
  kNotYetValid,    // now + skew < nbf
  kWrongIssuer,    // iss missing or not the configured issuer
  kWrongAudience,  // aud missing or without the configured audience
  kUnknownKid,     // the header's kid is not in the key set
  kNoKeySet,       // the verifier has no key set yet
};

inline constexpr Refusal kAllRefusals[] = {
    Refusal::kMissing,    Refusal::kMalformed,   Refusal::kBadSignature, Refusal::kAlgNotAllowed,
    Refusal::kExpired,    Refusal::kNotYetValid, Refusal::kWrongIssuer,  Refusal::kWrongAudience,
    Refusal::kUnknownKid, Refusal::kNoKeySet};

// "missing", "malformed", "bad_signature", "alg_not_allowed", "expired", "not_yet_valid",
// "wrong_issuer", "wrong_audience", "unknown_kid", "no_key_set".
absl::string_view RefusalLabel(Refusal refusal);

// UNAUTHENTICATED, message "<label>: <message>", with the reason attached as a payload.
absl::Status RefusalStatus(Refusal refusal, absl::string_view message);

// The reason carried by a status made by RefusalStatus; nullopt for any other status.
std::optional<Refusal> RefusalOf(const absl::Status& status);

// Quotes attacker-controlled text for a message: C-escaped and cut to `max_bytes`.
std::string QuoteForMessage(absl::string_view text, size_t max_bytes = 40);

}  // namespace kv::auth

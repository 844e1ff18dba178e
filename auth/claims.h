#pragma once
// Reads the claims of a token whose signature has been verified and checks the registered ones
// (RFC 7519 section 4.1): exp and nbf against the clock with a skew, iss and aud when
// configured. Claim types are checked too: exp/nbf/iat must be numbers, iss/sub/scope strings,
// aud a string or an array of strings; anything else is malformed.
//
// Stateless; safe from any thread. Errors are RefusalStatus() values.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/principal.h"

namespace kv::auth {

struct ClaimRules {
  // Required "iss"; "" = not checked.
  std::string issuer;
  // The token's "aud" must contain one of these; empty = not checked.
  std::vector<std::string> audiences;
  // Tolerated clock difference for exp and nbf.
  absl::Duration clock_skew = absl::Seconds(30);
  // Refuse tokens without "exp" (as malformed).
  bool require_exp = true;
};

// Decodes `payload_b64` and fills a Principal (subject, expires_unix, permissions); the caller
// sets kid and alg. `now_unix_micros` is the verifier's wall clock.
absl::StatusOr<Principal> CheckClaims(absl::string_view payload_b64, const ClaimRules& rules,
                                      int64_t now_unix_micros);

}  // namespace kv::auth

#pragma once
// Splits and checks a JWS compact token (RFC 7515 section 7.1) before any key is touched:
// exactly three non-empty base64url segments (a JWE's five, or any other count, is refused),
// strict base64url, a strict-JSON protected header whose "alg" is one of the four accepted
// names (never "none"), an optional string "kid", an optional "typ" of "JWT" or "at+jwt", and
// no "crit", "b64", "zip" or "enc" members. Embedded key references ("jwk", "jku", "x5u", "x5c")
// are never consulted. The payload is left encoded: it is read only once the signature holds.
//
// Stateless; safe from any thread. Errors are RefusalStatus() values.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "auth/alg.h"

namespace kv::auth {

struct Jws {
  absl::string_view token;          // the whole token (a view of the caller's string)
  absl::string_view signing_input;  // "header.payload", what the signature covers
  absl::string_view payload_b64;    // the encoded claims
  std::string signature;            // decoded signature bytes
  Alg alg = Alg::kHS256;
  std::optional<std::string> kid;
};

// `token` must outlive the returned Jws (it holds views into it).
absl::StatusOr<Jws> ParseJws(absl::string_view token);

}  // namespace kv::auth

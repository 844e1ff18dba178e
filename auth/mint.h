#pragma once
// Development and test tokens: `kvctl auth mint --key FILE --scope '...' --ttl 1h [--sub NAME]
// [--kid ID] [--iss ...] [--aud ...]` calls MintToken with the key file's contents, and the
// local cluster script turns the same file into the nodes' JWKS with PublicJwksFromKeyFile.
//
// A key file is one of:
//   - a JWK with its private members ({"kty":"RSA"|"EC"|"OKP", ..., "d": ...}), or a JWKS
//     holding exactly one such key; an "oct" JWK is an HS256 secret;
//   - a PEM private key (RSA >= 2048 bits -> RS256, EC P-256 -> ES256, Ed25519 -> EdDSA);
//   - anything else: the bytes of an HS256 secret, trailing whitespace removed, >= 32 bytes.
//
// Stateless; safe from any thread.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/jwk.h"

namespace kv::auth {

struct MintRequest {
  // The "scope" claim, e.g. "read:users/ write:users/alice admin".
  std::string scope;
  // exp = now + ttl.
  absl::Duration ttl = absl::Hours(1);
  // "sub", "iss" when non-empty.
  std::string subject;
  std::string issuer;
  // "aud": a string when one, an array when several, absent when none.
  std::vector<std::string> audiences;
  // "kid" header; when empty, the kid of a JWK key file (if it has one).
  std::string kid;
  // "iat" and the base of exp; null = the real clock.
  std::optional<absl::Time> now;
  // "nbf" when set.
  std::optional<absl::Time> not_before;
};

// Reads a key file (formats above) into a signing key.
absl::StatusOr<Key> SigningKeyFromFile(absl::string_view contents);

// A signed JWS compact token.
absl::StatusOr<std::string> MintToken(absl::string_view key_file_contents,
                                      const MintRequest& request);
absl::StatusOr<std::string> MintToken(const Key& key, const MintRequest& request);

// The public JWKS ({"keys":[...]}) for a key file; `kid` (if non-empty) replaces the file's.
// For an HS256 secret the result holds the secret and must be kept as secret as the file.
absl::StatusOr<std::string> PublicJwksFromKeyFile(absl::string_view contents,
                                                  absl::string_view kid = {});

}  // namespace kv::auth

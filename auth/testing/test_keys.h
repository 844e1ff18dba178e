#pragma once
// Test support for kv_auth: fresh keys of every supported kind, their public JWKS, and a token
// forger that signs arbitrary header/payload bytes with raw OpenSSL (independent of libjwt and
// of the library's own signing), so attack tests can build exactly the token they need.
// Not thread-safe to call concurrently with itself only where noted; keys are immutable.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "auth/jwk.h"

namespace kv::auth::testing {

// A new private key for `alg` with `kid` ("" for none). HS256 gets 32 random bytes.
Key NewKey(Alg alg, absl::string_view kid, int rsa_bits = 2048);

// A deep copy (the EVP_PKEY is shared by reference count).
Key CopyKey(const Key& key);

// {"keys":[public JWK of each]} (an oct JWK for HS256 keys).
std::string JwksOf(const std::vector<const Key*>& keys);

// base64url(header) "." base64url(payload), with the bytes exactly as given.
std::string SigningInput(absl::string_view header_json, absl::string_view payload_json);

// HMAC-SHA-256 of `input` keyed with arbitrary bytes (e.g. a public key's PEM or DER).
std::string HmacSha256(absl::string_view secret, absl::string_view input);

// The JWS signature of `input` by `key`: RSASSA-PKCS1-v1_5 SHA-256, ECDSA P-256 as R||S,
// Ed25519, or HMAC-SHA-256.
std::string SignRaw(const Key& key, absl::string_view input);

// SigningInput(header, payload) "." base64url(SignRaw(key, ...)).
std::string Forge(const Key& key, absl::string_view header_json, absl::string_view payload_json);

// The DER (SubjectPublicKeyInfo) and PEM of a key's public half.
std::string PublicDer(const Key& key);
std::string PublicPem(const Key& key);

}  // namespace kv::auth::testing

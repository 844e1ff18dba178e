#pragma once
// One key of the four kinds the cluster uses, read from a JWK (RFC 7517/7518/8037) or a PEM
// file, and written back as a JWK or PEM. Conversions go through OpenSSL 3's
// EVP_PKEY_fromdata/OSSL_PARAM (RSA n/e[/d/p/q/dp/dq/qi], EC P-256 x/y[/d]) and raw keys
// (Ed25519 x[/d]); an "oct" JWK is an HS256 secret.
//
// A Key is immutable after it is built and may be read from many threads at once.

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "auth/alg.h"
#include "auth/openssl_util.h"

namespace kv::auth {

// Smallest accepted RSA modulus, and the largest (a bound on verification cost).
inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMaxRsaBits = 8192;
// Smallest accepted HS256 secret (RFC 7518 section 3.2: at least the hash output size).
inline constexpr size_t kMinHmacSecretBytes = 32;

struct Key {
  std::string kid;          // "" when the JWK has none
  Alg alg = Alg::kHS256;    // the only algorithm this key may be used with
  EvpPkeyPtr pkey;          // RS256, ES256, EdDSA; null for HS256
  std::string secret;       // HS256 only
  bool is_private = false;  // pkey holds a private key (never true in a verifier's key set)
};

enum class PrivateParts {
  kRefuse,   // a published key set: a private member ("d", "p", ...) is an error
  kRequire,  // a signing key: the private members must be there
};

// Reads one JWK object. Checks kty/crv, "alg" (if present) against them, "use" (if present) is
// "sig", key sizes (RSA >= 2048 bits, coordinates of exactly 32 bytes, HS256 secret >= 32
// bytes), points on the curve. Errors are INVALID_ARGUMENT and do not repeat key material.
absl::StatusOr<Key> KeyFromJwk(const nlohmann::json& jwk, PrivateParts mode);

// Reads a PEM private key (PKCS#8, or traditional RSA/EC) of one of the supported kinds.
absl::StatusOr<Key> PrivateKeyFromPem(absl::string_view pem);

// The algorithm an OpenSSL key is for: RSA -> RS256 (>= 2048 bits), EC P-256 -> ES256,
// Ed25519 -> EdDSA; INVALID_ARGUMENT for anything else.
absl::StatusOr<Alg> AlgForPkey(EVP_PKEY* pkey);

// The public JWK of `key`, with "kid" (if set), "alg" and "use":"sig". For HS256 this is an
// "oct" JWK holding the secret itself: such a key set must be kept as secret as the key.
absl::StatusOr<nlohmann::json> PublicJwk(const Key& key);

// The JWK with private members (for development key files).
absl::StatusOr<nlohmann::json> PrivateJwk(const Key& key);

// SubjectPublicKeyInfo PEM of an asymmetric key.
absl::StatusOr<std::string> PublicKeyPem(EVP_PKEY* pkey);

// PKCS#8 PEM of an asymmetric private key.
absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* pkey);

}  // namespace kv::auth

#pragma once
// Checks and makes JWS signatures, given a key the caller has already matched to the token's
// header alg (see Verifier): this file never picks a key and never lets a public key act as an
// HMAC secret.
//
// Two verification backends:
//   kOpenSsl (default): OpenSSL 3 EVP_DigestVerify with the EVP_PKEY parsed once into the key
//     set (RS256: PKCS#1 v1.5 + SHA-256; ES256: R||S converted to DER; EdDSA: Ed25519) and
//     HMAC-SHA-256 compared with CRYPTO_memcmp.
//   kLibJwt: Debian's libjwt 1.10 jwt_decode() for RS256/ES256/HS256 (EdDSA, which libjwt
//     1.10 lacks, still goes to OpenSSL). libjwt re-reads the PEM public key on every call,
//     which costs ~260 us with OpenSSL 3.0's decoders (see docs/security.md).
// Minting (SignJws) uses libjwt for RS256/ES256/HS256 and OpenSSL for EdDSA.
//
// Stateless; safe from any thread.

#include <string>

#include "absl/status/statusor.h"
#include "auth/jws.h"
#include "auth/key_set.h"

namespace kv::auth {

enum class SignatureBackend { kOpenSsl, kLibJwt };

// True when `jws` carries a valid signature by `key`. Requires jws.alg == key.key.alg and a
// signature of the algorithm's exact size (false otherwise). Never throws; any library failure
// counts as an invalid signature.
bool VerifyJwsSignature(const VerifyKey& key, const Jws& jws,
                        SignatureBackend backend = SignatureBackend::kOpenSsl);

// Signs `claims` (a JSON object) with `key`, a private asymmetric key or an HS256 secret. The
// header is {"alg", "typ":"JWT"} plus "kid" when key.kid is set.
absl::StatusOr<std::string> SignJws(const Key& key, const nlohmann::json& claims);

}  // namespace kv::auth

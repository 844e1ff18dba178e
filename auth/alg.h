#pragma once
// The JWS algorithms this cluster accepts (RFC 7518, RFC 8037) and the key type each needs.
// Nothing else is accepted: in particular never "none", and never an algorithm other than the
// one its key is for (see KeySet).

#include <optional>

#include "absl/strings/string_view.h"

namespace kv::auth {

enum class Alg {
  kRS256,  // RSASSA-PKCS1-v1_5 with SHA-256; kty "RSA", >= 2048 bits
  kES256,  // ECDSA P-256 with SHA-256, signature R||S (64 bytes); kty "EC", crv "P-256"
  kEdDSA,  // Ed25519 (RFC 8037); kty "OKP", crv "Ed25519"
  kHS256,  // HMAC-SHA-256; kty "oct", a secret of >= 32 bytes
};

// "RS256", "ES256", "EdDSA", "HS256".
absl::string_view AlgName(Alg alg);

// Exact, case-sensitive match of the four names above; nullopt for anything else ("none",
// "NONE", "hs256", "RS384", ...).
std::optional<Alg> AlgFromName(absl::string_view name);

}  // namespace kv::auth

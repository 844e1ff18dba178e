#include "auth/mint.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "auth/signature.h"
#include "auth/strict_json.h"

namespace kv::auth {

absl::StatusOr<Key> SigningKeyFromFile(absl::string_view contents) {
  absl::string_view text = absl::StripAsciiWhitespace(contents);
  if (absl::StartsWith(text, "{")) {
    absl::StatusOr<nlohmann::json> doc = ParseStrictJson(text);
    if (!doc.ok()) return absl::InvalidArgumentError("key file: not valid JSON");
    const nlohmann::json* jwk = &*doc;
    if (auto keys = doc->find("keys"); keys != doc->end()) {
      if (!keys->is_array() || keys->size() != 1) {
        return absl::InvalidArgumentError("key file: a JWKS must hold exactly one key");
      }
      jwk = &(*keys)[0];
    }
    absl::StatusOr<Key> key = KeyFromJwk(*jwk, PrivateParts::kRequire);
    if (!key.ok()) {
      return absl::InvalidArgumentError(std::string("key file: ") +
                                        std::string(key.status().message()));
    }
    return key;
  }
  if (absl::StartsWith(text, "-----BEGIN")) {
    if (absl::StrContains(text, "PUBLIC KEY-----")) {
      return absl::InvalidArgumentError("key file: a public key cannot sign");
    }
    return PrivateKeyFromPem(text);
  }
  absl::string_view secret = absl::StripTrailingAsciiWhitespace(contents);
  if (secret.size() < kMinHmacSecretBytes) {
    return absl::InvalidArgumentError(
        "key file: not a JWK or PEM key, and too short (< 32 bytes) for an HS256 secret");
  }
  Key key;
  key.alg = Alg::kHS256;
  key.secret = std::string(secret);
  return key;
}

absl::StatusOr<std::string> MintToken(const Key& key, const MintRequest& request) {
  if (request.ttl <= absl::ZeroDuration()) return absl::InvalidArgumentError("ttl must be > 0");
  absl::Time now = request.now.value_or(absl::Now());
  nlohmann::json claims = nlohmann::json::object();
  claims["iat"] = absl::ToUnixSeconds(now);
  claims["exp"] = absl::ToUnixSeconds(now + request.ttl);
  if (request.not_before.has_value()) claims["nbf"] = absl::ToUnixSeconds(*request.not_before);
  if (!request.subject.empty()) claims["sub"] = request.subject;
  if (!request.issuer.empty()) claims["iss"] = request.issuer;
  if (request.audiences.size() == 1) {
    claims["aud"] = request.audiences[0];
  } else if (request.audiences.size() > 1) {
    claims["aud"] = request.audiences;
  }
  claims["scope"] = request.scope;
  if (request.kid.empty()) return SignJws(key, claims);
  Key with_kid;
  with_kid.kid = request.kid;
  with_kid.alg = key.alg;
  with_kid.secret = key.secret;
  with_kid.is_private = key.is_private;
  if (key.pkey != nullptr) {
    EVP_PKEY_up_ref(key.pkey.get());
    with_kid.pkey.reset(key.pkey.get());
  }
  return SignJws(with_kid, claims);
}

absl::StatusOr<std::string> MintToken(absl::string_view key_file_contents,
                                      const MintRequest& request) {
  absl::StatusOr<Key> key = SigningKeyFromFile(key_file_contents);
  if (!key.ok()) return key.status();
  return MintToken(*key, request);
}

absl::StatusOr<std::string> PublicJwksFromKeyFile(absl::string_view contents,
                                                  absl::string_view kid) {
  absl::StatusOr<Key> key = SigningKeyFromFile(contents);
  if (!key.ok()) return key.status();
  if (!kid.empty()) key->kid = std::string(kid);
  absl::StatusOr<nlohmann::json> jwk = PublicJwk(*key);
  if (!jwk.ok()) return jwk.status();
  nlohmann::json jwks = {{"keys", nlohmann::json::array({*jwk})}};
  return jwks.dump(2);
}

}  // namespace kv::auth

// Key -> JWK and PEM.
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "absl/status/status.h"
#include "auth/base64url.h"
#include "auth/jwk.h"

namespace kv::auth {
namespace {

using json = nlohmann::json;

// The big-endian bytes of a BIGNUM parameter, left-padded to `pad` bytes when pad > 0.
absl::StatusOr<std::string> BnParam(EVP_PKEY* pkey, const char* name, int pad = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) <= 0) {
    return absl::InternalError(std::string("key has no parameter ") + name);
  }
  BignumPtr bn(raw);
  int size = pad > 0 ? pad : BN_num_bytes(bn.get());
  std::string out(static_cast<size_t>(size), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), size) != size) {
    return absl::InternalError(std::string("parameter too large: ") + name);
  }
  return out;
}

absl::Status AddB64(json& jwk, EVP_PKEY* pkey, const char* member, const char* param, int pad = 0) {
  absl::StatusOr<std::string> bytes = BnParam(pkey, param, pad);
  if (!bytes.ok()) return bytes.status();
  jwk[member] = Base64UrlEncode(*bytes);
  return absl::OkStatus();
}

absl::StatusOr<json> Jwk(const Key& key, bool with_private) {
  json jwk = json::object();
  EVP_PKEY* pkey = key.pkey.get();
  absl::Status s;
  switch (key.alg) {
    case Alg::kHS256:
      jwk["kty"] = "oct";
      jwk["k"] = Base64UrlEncode(key.secret);
      break;
    case Alg::kRS256:
      jwk["kty"] = "RSA";
      s = AddB64(jwk, pkey, "n", OSSL_PKEY_PARAM_RSA_N);
      if (s.ok()) s = AddB64(jwk, pkey, "e", OSSL_PKEY_PARAM_RSA_E);
      if (s.ok() && with_private) {
        s = AddB64(jwk, pkey, "d", OSSL_PKEY_PARAM_RSA_D);
        // CRT members when the key has them (a key read from n/e/d alone does not).
        BIGNUM* probe = nullptr;
        if (s.ok() && EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, &probe) > 0) {
          BN_clear_free(probe);
          const char* members[] = {"p", "q", "dp", "dq", "qi"};
          const char* params[] = {OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
                                  OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
                                  OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
          for (int i = 0; i < 5 && s.ok(); ++i) s = AddB64(jwk, pkey, members[i], params[i]);
        }
      }
      break;
    case Alg::kES256:
      jwk["kty"] = "EC";
      jwk["crv"] = "P-256";
      s = AddB64(jwk, pkey, "x", OSSL_PKEY_PARAM_EC_PUB_X, 32);
      if (s.ok()) s = AddB64(jwk, pkey, "y", OSSL_PKEY_PARAM_EC_PUB_Y, 32);
      if (s.ok() && with_private) s = AddB64(jwk, pkey, "d", OSSL_PKEY_PARAM_PRIV_KEY, 32);
      break;
    case Alg::kEdDSA: {
      jwk["kty"] = "OKP";
      jwk["crv"] = "Ed25519";
      unsigned char raw[32];
      size_t len = sizeof(raw);
      if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) <= 0 || len != 32) {
        return absl::InternalError("cannot read the Ed25519 public key");
      }
      jwk["x"] = Base64UrlEncode(absl::string_view(reinterpret_cast<char*>(raw), len));
      if (with_private) {
        len = sizeof(raw);
        if (EVP_PKEY_get_raw_private_key(pkey, raw, &len) <= 0 || len != 32) {
          return absl::InternalError("cannot read the Ed25519 private key");
        }
        jwk["d"] = Base64UrlEncode(absl::string_view(reinterpret_cast<char*>(raw), len));
        OPENSSL_cleanse(raw, sizeof(raw));
      }
      break;
    }
  }
  if (!s.ok()) return s;
  if (!key.kid.empty()) jwk["kid"] = key.kid;
  jwk["alg"] = std::string(AlgName(key.alg));
  jwk["use"] = "sig";
  return jwk;
}

}  // namespace

absl::StatusOr<nlohmann::json> PublicJwk(const Key& key) { return Jwk(key, false); }

absl::StatusOr<nlohmann::json> PrivateJwk(const Key& key) {
  if (key.alg != Alg::kHS256 && !key.is_private) {
    return absl::InvalidArgumentError("not a private key");
  }
  return Jwk(key, true);
}

absl::StatusOr<std::string> PublicKeyPem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), pkey) <= 0) {
    return absl::InternalError("cannot write the public key as PEM: " + TakeOpenSslError());
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) <= 0) {
    return absl::InternalError("cannot write the private key as PEM: " + TakeOpenSslError());
  }
  return BioContents(bio.get());
}

}  // namespace kv::auth

#include "auth/signature.h"

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "auth/base64url.h"

namespace kv::auth {
namespace {

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

jwt_alg_t LibJwtAlg(Alg alg) {
  switch (alg) {
    case Alg::kRS256:
      return JWT_ALG_RS256;
    case Alg::kES256:
      return JWT_ALG_ES256;
    case Alg::kHS256:
      return JWT_ALG_HS256;
    case Alg::kEdDSA:
      break;
  }
  return JWT_ALG_INVAL;
}

// Expected signature size: the modulus size for RSA, R||S for P-256, 64 for Ed25519, 32 for
// HMAC-SHA-256. A mismatch is refused before any library sees the token.
size_t SignatureSize(const Key& key) {
  switch (key.alg) {
    case Alg::kRS256:
      return static_cast<size_t>(EVP_PKEY_get_size(key.pkey.get()));
    case Alg::kES256:
    case Alg::kEdDSA:
      return 64;
    case Alg::kHS256:
      return 32;
  }
  return 0;
}

// EVP_DigestVerify with `md` (null for Ed25519, which hashes internally).
bool VerifyEvp(EVP_PKEY* pkey, const EVP_MD* md, absl::string_view signing_input,
               absl::string_view sig) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok =
      ctx != nullptr && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) == 1;
  if (!ok) TakeOpenSslError();
  return ok;
}

// JWS carries ECDSA as R||S (RFC 7518 section 3.4); OpenSSL wants a DER ECDSA-Sig-Value.
bool VerifyEs256(EVP_PKEY* pkey, absl::string_view signing_input, absl::string_view rs) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(rs.data());
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (r == nullptr || s == nullptr || sig == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (der_len <= 0) return false;
  bool ok = VerifyEvp(pkey, EVP_sha256(), signing_input,
                      absl::string_view(reinterpret_cast<char*>(der), der_len));
  OPENSSL_free(der);
  return ok;
}

bool VerifyHs256(const std::string& secret, absl::string_view signing_input,
                 absl::string_view sig) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (secret.empty() || HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                             reinterpret_cast<const unsigned char*>(signing_input.data()),
                             signing_input.size(), mac, &mac_len) == nullptr) {
    TakeOpenSslError();
    return false;
  }
  return mac_len == sig.size() && CRYPTO_memcmp(mac, sig.data(), mac_len) == 0;
}

bool VerifyWithOpenSsl(const VerifyKey& key, const Jws& jws) {
  switch (key.key.alg) {
    case Alg::kRS256:
      return VerifyEvp(key.key.pkey.get(), EVP_sha256(), jws.signing_input, jws.signature);
    case Alg::kES256:
      return VerifyEs256(key.key.pkey.get(), jws.signing_input, jws.signature);
    case Alg::kEdDSA:
      return VerifyEvp(key.key.pkey.get(), nullptr, jws.signing_input, jws.signature);
    case Alg::kHS256:
      return VerifyHs256(key.key.secret, jws.signing_input, jws.signature);
  }
  return false;
}

bool VerifyWithLibJwt(const VerifyKey& key, const Jws& jws) {
  const std::string& material = key.key.alg == Alg::kHS256 ? key.key.secret : key.public_pem;
  // libjwt skips the signature check when given no key: never let that happen.
  if (material.empty()) return false;
  std::string token(jws.token);  // libjwt wants a NUL-terminated string
  jwt_t* raw = nullptr;
  int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(material.data()),
                      static_cast<int>(material.size()));
  JwtPtr jwt(raw);
  TakeOpenSslError();
  // Belt and braces: libjwt must have verified with the algorithm we matched to the key.
  return rc == 0 && jwt != nullptr && jwt_get_alg(jwt.get()) == LibJwtAlg(key.key.alg);
}

absl::StatusOr<std::string> SignEd25519(const Key& key, const nlohmann::json& claims) {
  nlohmann::json header = {{"alg", "EdDSA"}, {"typ", "JWT"}};
  if (!key.kid.empty()) header["kid"] = key.kid;
  std::string input =
      absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(claims.dump()));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned char sig[64];
  size_t sig_len = sizeof(sig);
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &sig_len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    return absl::InternalError(absl::StrCat("Ed25519 signing failed: ", TakeOpenSslError()));
  }
  return absl::StrCat(input, ".",
                      Base64UrlEncode(absl::string_view(reinterpret_cast<char*>(sig), sig_len)));
}

absl::StatusOr<std::string> SignWithLibJwt(const Key& key, const nlohmann::json& claims) {
  std::string material;
  if (key.alg == Alg::kHS256) {
    material = key.secret;
  } else {
    absl::StatusOr<std::string> pem = PrivateKeyPem(key.pkey.get());
    if (!pem.ok()) return pem.status();
    material = std::move(*pem);
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("jwt_new failed");
  JwtPtr jwt(raw);
  std::string claims_json = claims.dump();
  int rc = jwt_add_grants_json(jwt.get(), claims_json.c_str());
  if (rc == 0 && !key.kid.empty()) rc = jwt_add_header(jwt.get(), "kid", key.kid.c_str());
  if (rc == 0) {
    rc = jwt_set_alg(jwt.get(), LibJwtAlg(key.alg),
                     reinterpret_cast<const unsigned char*>(material.data()),
                     static_cast<int>(material.size()));
  }
  OPENSSL_cleanse(material.data(), material.size());
  if (rc != 0) return absl::InternalError(absl::StrCat("libjwt refused the token: error ", rc));
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) {
    return absl::InternalError(absl::StrCat("libjwt signing failed: ", TakeOpenSslError()));
  }
  std::string token(encoded);
  free(encoded);  // libjwt 1.10 allocates with malloc and has no jwt_free_str
  return token;
}

}  // namespace

bool VerifyJwsSignature(const VerifyKey& key, const Jws& jws, SignatureBackend backend) {
  if (jws.alg != key.key.alg) return false;
  if (jws.signature.size() != SignatureSize(key.key)) return false;
  if (backend == SignatureBackend::kLibJwt && key.key.alg != Alg::kEdDSA) {
    return VerifyWithLibJwt(key, jws);
  }
  return VerifyWithOpenSsl(key, jws);
}

absl::StatusOr<std::string> SignJws(const Key& key, const nlohmann::json& claims) {
  if (!claims.is_object()) return absl::InvalidArgumentError("claims must be a JSON object");
  if (key.alg == Alg::kHS256) {
    if (key.secret.size() < kMinHmacSecretBytes) {
      return absl::InvalidArgumentError("HS256 secret shorter than 32 bytes");
    }
  } else if (!key.is_private || key.pkey == nullptr) {
    return absl::InvalidArgumentError("signing needs a private key");
  }
  try {
    if (key.alg == Alg::kEdDSA) return SignEd25519(key, claims);
    return SignWithLibJwt(key, claims);
  } catch (const std::exception& e) {  // nlohmann::json::dump on invalid UTF-8
    return absl::InvalidArgumentError(absl::StrCat("claims cannot be encoded: ", e.what()));
  }
}

}  // namespace kv::auth

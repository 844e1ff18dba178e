#include "auth/testing/test_keys.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "auth/base64url.h"

namespace kv::auth::testing {
namespace {

[[noreturn]] void Die(absl::string_view what) {
  std::cerr << "test_keys: " << what << ": " << TakeOpenSslError() << "\n";
  std::abort();
}

EvpPkeyPtr Generate(Alg alg, int rsa_bits) {
  EVP_PKEY* raw = nullptr;
  switch (alg) {
    case Alg::kRS256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
      break;
    case Alg::kES256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case Alg::kEdDSA:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case Alg::kHS256:
      break;
  }
  if (raw == nullptr) Die("key generation failed");
  return EvpPkeyPtr(raw);
}

}  // namespace

Key NewKey(Alg alg, absl::string_view kid, int rsa_bits) {
  Key key;
  key.alg = alg;
  key.kid = std::string(kid);
  if (alg == Alg::kHS256) {
    key.secret.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.secret.data()), 32) != 1) Die("RAND");
  } else {
    key.pkey = Generate(alg, rsa_bits);
    key.is_private = true;
  }
  return key;
}

Key CopyKey(const Key& key) {
  Key copy;
  copy.kid = key.kid;
  copy.alg = key.alg;
  copy.secret = key.secret;
  copy.is_private = key.is_private;
  if (key.pkey != nullptr) {
    EVP_PKEY_up_ref(key.pkey.get());
    copy.pkey.reset(key.pkey.get());
  }
  return copy;
}

std::string JwksOf(const std::vector<const Key*>& keys) {
  nlohmann::json arr = nlohmann::json::array();
  for (const Key* key : keys) {
    absl::StatusOr<nlohmann::json> jwk = PublicJwk(*key);
    if (!jwk.ok()) Die(jwk.status().ToString());
    arr.push_back(*jwk);
  }
  return nlohmann::json{{"keys", arr}}.dump();
}

std::string SigningInput(absl::string_view header_json, absl::string_view payload_json) {
  return absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload_json));
}

std::string HmacSha256(absl::string_view secret, absl::string_view input) {
  unsigned char out[32];
  unsigned int len = sizeof(out);
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), out,
           &len) == nullptr) {
    Die("HMAC");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string SignRaw(const Key& key, absl::string_view input) {
  if (key.alg == Alg::kHS256) return HmacSha256(key.secret, input);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const EVP_MD* md = key.alg == Alg::kEdDSA ? nullptr : EVP_sha256();
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key.pkey.get()) != 1) Die("sign init");
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1) Die("sign size");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     input.size()) != 1) {
    Die("sign");
  }
  sig.resize(len);
  if (key.alg != Alg::kES256) return sig;
  // DER ECDSA-Sig-Value -> R||S, 32 bytes each (RFC 7518 section 3.4).
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (es == nullptr) Die("d2i_ECDSA_SIG");
  std::string rs(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(rs.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(rs.data()) + 32, 32);
  ECDSA_SIG_free(es);
  return rs;
}

std::string Forge(const Key& key, absl::string_view header_json, absl::string_view payload_json) {
  std::string input = SigningInput(header_json, payload_json);
  return absl::StrCat(input, ".", Base64UrlEncode(SignRaw(key, input)));
}

std::string PublicDer(const Key& key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key.pkey.get(), &der);
  if (len <= 0) Die("i2d_PUBKEY");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string PublicPem(const Key& key) {
  absl::StatusOr<std::string> pem = PublicKeyPem(key.pkey.get());
  if (!pem.ok()) Die(pem.status().ToString());
  return *pem;
}

}  // namespace kv::auth::testing

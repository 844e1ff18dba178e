// JWK and PEM -> Key.
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include <initializer_list>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "auth/base64url.h"
#include "auth/jwk.h"
#include "auth/refusal.h"

namespace kv::auth {
namespace {

using json = nlohmann::json;

absl::Status Invalid(absl::string_view what) { return absl::InvalidArgumentError(what); }

// The base64url member `name`, decoded; an error when absent or not a string.
absl::StatusOr<std::string> Member(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end()) return Invalid(absl::StrCat("missing member \"", name, "\""));
  if (!it->is_string()) return Invalid(absl::StrCat("member \"", name, "\" is not a string"));
  absl::StatusOr<std::string> bytes = Base64UrlDecode(it->get_ref<const std::string&>());
  if (!bytes.ok()) {
    return Invalid(
        absl::StrCat("member \"", name, "\" is not base64url: ", bytes.status().message()));
  }
  return bytes;
}

// Fixed-size member (EC coordinates, Ed25519 keys).
absl::StatusOr<std::string> SizedMember(const json& jwk, const char* name, size_t size) {
  absl::StatusOr<std::string> bytes = Member(jwk, name);
  if (bytes.ok() && bytes->size() != size) {
    return Invalid(
        absl::StrCat("member \"", name, "\" must be ", size, " bytes, not ", bytes->size()));
  }
  return bytes;
}

absl::Status CheckPrivateMembers(const json& jwk, std::initializer_list<const char*> names,
                                 PrivateParts mode) {
  if (mode != PrivateParts::kRefuse) return absl::OkStatus();
  for (const char* name : names) {
    if (jwk.contains(name)) {
      return Invalid(absl::StrCat("contains the private member \"", name,
                                  "\"; a published key set holds public keys only"));
    }
  }
  return absl::OkStatus();
}

BignumPtr Bn(const std::string& bytes) {
  return BignumPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                             static_cast<int>(bytes.size()), nullptr));
}

// Builds an EVP_PKEY of `type` ("RSA", "EC") from parameters.
absl::StatusOr<EvpPkeyPtr> FromData(const char* type, OSSL_PARAM_BLD* bld, bool is_private) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) <= 0) {
    return Invalid(absl::StrCat("OpenSSL refused the key: ", TakeOpenSslError()));
  }
  EvpPkeyPtr pkey(raw);
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) <= 0) {
    return Invalid(absl::StrCat("public key check failed: ", TakeOpenSslError()));
  }
  return pkey;
}

absl::StatusOr<Key> RsaFromJwk(const json& jwk, PrivateParts mode) {
  if (absl::Status s = CheckPrivateMembers(jwk, {"d", "p", "q", "dp", "dq", "qi", "oth"}, mode);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::string> n = Member(jwk, "n");
  if (!n.ok()) return n.status();
  absl::StatusOr<std::string> e = Member(jwk, "e");
  if (!e.ok()) return e.status();
  if (n->empty() || (*n)[0] == '\0') return Invalid("member \"n\" has leading zero bytes");
  int bits = static_cast<int>(n->size() * 8);
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return Invalid(
        absl::StrCat("RSA modulus of ", bits, " bits; accepted: ", kMinRsaBits, "..", kMaxRsaBits));
  }
  if (e->empty() || e->size() > 8) return Invalid("RSA exponent \"e\" out of range");

  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  std::vector<BignumPtr> keep;
  auto push = [&](const char* param, const std::string& bytes) {
    keep.push_back(Bn(bytes));
    return keep.back() != nullptr && OSSL_PARAM_BLD_push_BN(bld.get(), param, keep.back().get());
  };
  bool ok = bld != nullptr && push(OSSL_PKEY_PARAM_RSA_N, *n) && push(OSSL_PKEY_PARAM_RSA_E, *e);
  bool is_private = mode == PrivateParts::kRequire;
  if (ok && is_private) {
    absl::StatusOr<std::string> d = Member(jwk, "d");
    if (!d.ok()) return d.status();
    ok = push(OSSL_PKEY_PARAM_RSA_D, *d);
    if (jwk.contains("p")) {  // the CRT members come all together (RFC 7518 section 6.3.2)
      const char* names[] = {"p", "q", "dp", "dq", "qi"};
      const char* params[] = {OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
                              OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
                              OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
      for (int i = 0; i < 5 && ok; ++i) {
        absl::StatusOr<std::string> v = Member(jwk, names[i]);
        if (!v.ok()) return v.status();
        ok = push(params[i], *v);
      }
    }
  }
  if (!ok) return absl::InternalError("OpenSSL parameter building failed");
  absl::StatusOr<EvpPkeyPtr> pkey = FromData("RSA", bld.get(), is_private);
  if (!pkey.ok()) return pkey.status();
  Key key;
  key.alg = Alg::kRS256;
  key.pkey = std::move(*pkey);
  key.is_private = is_private;
  return key;
}

absl::StatusOr<Key> EcFromJwk(const json& jwk, PrivateParts mode) {
  if (absl::Status s = CheckPrivateMembers(jwk, {"d"}, mode); !s.ok()) return s;
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string() || *crv != "P-256") {
    return Invalid("EC key must have \"crv\":\"P-256\" (only ES256 is accepted)");
  }
  absl::StatusOr<std::string> x = SizedMember(jwk, "x", 32);
  if (!x.ok()) return x.status();
  absl::StatusOr<std::string> y = SizedMember(jwk, "y", 32);
  if (!y.ok()) return y.status();
  std::string point = absl::StrCat("\x04", *x, *y);

  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  bool ok =
      bld != nullptr &&
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size());
  bool is_private = mode == PrivateParts::kRequire;
  BignumPtr d_bn;
  if (ok && is_private) {
    absl::StatusOr<std::string> d = SizedMember(jwk, "d", 32);
    if (!d.ok()) return d.status();
    d_bn = Bn(*d);
    ok = d_bn != nullptr && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d_bn.get());
  }
  if (!ok) return absl::InternalError("OpenSSL parameter building failed");
  absl::StatusOr<EvpPkeyPtr> pkey = FromData("EC", bld.get(), is_private);
  if (!pkey.ok()) return pkey.status();
  Key key;
  key.alg = Alg::kES256;
  key.pkey = std::move(*pkey);
  key.is_private = is_private;
  return key;
}

absl::StatusOr<Key> OkpFromJwk(const json& jwk, PrivateParts mode) {
  if (absl::Status s = CheckPrivateMembers(jwk, {"d"}, mode); !s.ok()) return s;
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string() || *crv != "Ed25519") {
    return Invalid("OKP key must have \"crv\":\"Ed25519\"");
  }
  absl::StatusOr<std::string> x = SizedMember(jwk, "x", 32);
  if (!x.ok()) return x.status();
  Key key;
  key.alg = Alg::kEdDSA;
  if (mode == PrivateParts::kRequire) {
    absl::StatusOr<std::string> d = SizedMember(jwk, "d", 32);
    if (!d.ok()) return d.status();
    key.pkey.reset(EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(d->data()), d->size()));
    key.is_private = true;
    if (key.pkey != nullptr) {  // the public half must be the one derived from d
      unsigned char derived[32];
      size_t len = sizeof(derived);
      if (EVP_PKEY_get_raw_public_key(key.pkey.get(), derived, &len) <= 0 || len != 32 ||
          CRYPTO_memcmp(derived, x->data(), 32) != 0) {
        return Invalid("member \"x\" is not the public key of \"d\"");
      }
    }
  } else {
    key.pkey.reset(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size()));
  }
  if (key.pkey == nullptr) {
    return Invalid(absl::StrCat("OpenSSL refused the key: ", TakeOpenSslError()));
  }
  return key;
}

absl::StatusOr<Key> OctFromJwk(const json& jwk) {
  absl::StatusOr<std::string> k = Member(jwk, "k");
  if (!k.ok()) return k.status();
  if (k->size() < kMinHmacSecretBytes) {
    return Invalid(absl::StrCat("HS256 secret of ", k->size(), " bytes; at least ",
                                kMinHmacSecretBytes, " are required"));
  }
  Key key;
  key.alg = Alg::kHS256;
  key.secret = std::move(*k);
  return key;
}

}  // namespace

absl::StatusOr<Key> KeyFromJwk(const nlohmann::json& jwk, PrivateParts mode) {
  if (!jwk.is_object()) return Invalid("not a JSON object");
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return Invalid("missing string member \"kty\"");
  std::string kid;
  if (auto it = jwk.find("kid"); it != jwk.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
        it->get_ref<const std::string&>().size() > 256) {
      return Invalid("\"kid\" must be a non-empty string of at most 256 bytes");
    }
    kid = it->get<std::string>();
  }
  if (auto it = jwk.find("use"); it != jwk.end() && *it != "sig") {
    return Invalid("\"use\" must be \"sig\"");
  }

  const std::string& type = kty->get_ref<const std::string&>();
  absl::StatusOr<Key> key;
  if (type == "RSA") {
    key = RsaFromJwk(jwk, mode);
  } else if (type == "EC") {
    key = EcFromJwk(jwk, mode);
  } else if (type == "OKP") {
    key = OkpFromJwk(jwk, mode);
  } else if (type == "oct") {
    key = OctFromJwk(jwk);
  } else {
    return Invalid(absl::StrCat("unsupported \"kty\" ", QuoteForMessage(type),
                                " (accepted: RSA, EC, OKP, oct)"));
  }
  if (!key.ok()) return key.status();
  if (auto it = jwk.find("alg"); it != jwk.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>() != AlgName(key->alg)) {
      return Invalid(
          absl::StrCat("\"alg\" ", QuoteForMessage(it->is_string() ? it->get<std::string>() : "?"),
                       " does not fit kty \"", type, "\" (expected \"", AlgName(key->alg), "\")"));
    }
  }
  key->kid = std::move(kid);
  return key;
}

absl::StatusOr<Alg> AlgForPkey(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    int bits = EVP_PKEY_get_bits(pkey);
    if (bits < kMinRsaBits || bits > kMaxRsaBits) {
      return Invalid(
          absl::StrCat("RSA key of ", bits, " bits; accepted: ", kMinRsaBits, "..", kMaxRsaBits));
    }
    return Alg::kRS256;
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) > 0 &&
        absl::string_view(group, len) == "prime256v1") {
      return Alg::kES256;
    }
    return Invalid("EC key is not on P-256 (only ES256 is accepted)");
  }
  if (EVP_PKEY_is_a(pkey, "ED25519")) return Alg::kEdDSA;
  return Invalid("unsupported key type (accepted: RSA, EC P-256, Ed25519)");
}

absl::StatusOr<Key> PrivateKeyFromPem(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  // A null callback with an empty passphrase: an encrypted PEM fails instead of prompting.
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>(""));
  if (raw == nullptr) {
    return Invalid(absl::StrCat("not a PEM private key: ", TakeOpenSslError()));
  }
  Key key;
  key.pkey.reset(raw);
  absl::StatusOr<Alg> alg = AlgForPkey(raw);
  if (!alg.ok()) return alg.status();
  key.alg = *alg;
  key.is_private = true;
  return key;
}

}  // namespace kv::auth

// Cost of verifying a bearer token: cold (full parse, signature, claims; cache off) per
// algorithm and signature backend, a cache hit, the cache key alone, and the bare OpenSSL
// signature check with a pre-parsed key.
//
//   ninja -C build auth_bench && build/bin/auth_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "auth/base64url.h"
#include "auth/testing/test_keys.h"
#include "auth/verifier.h"

namespace kv::auth {
namespace {

constexpr int64_t kNow = 1'700'000'000;
const Alg kAlgs[] = {Alg::kRS256, Alg::kES256, Alg::kEdDSA, Alg::kHS256};

struct World {
  World() {
    for (int i = 0; i < 4; ++i) keys[i] = testing::NewKey(kAlgs[i], std::string(AlgName(kAlgs[i])));
    jwks = testing::JwksOf({&keys[0], &keys[1], &keys[2], &keys[3]});
    nlohmann::json claims = {{"sub", "bench"},   {"iss", "https://issuer.kv"},
                             {"aud", "kvstore"}, {"exp", kNow + 3600},
                             {"iat", kNow},      {"scope", "read:users/ write:users/bench/"}};
    for (int i = 0; i < 4; ++i) {
      nlohmann::json h = {{"alg", std::string(AlgName(kAlgs[i]))}, {"kid", keys[i].kid}};
      tokens[i] = testing::Forge(keys[i], h.dump(), claims.dump());
    }
  }
  std::unique_ptr<Verifier> MakeVerifier(bool cache,
                                         SignatureBackend backend = SignatureBackend::kOpenSsl) {
    VerifierOptions options;
    options.signature_backend = backend;
    options.clock = &clock;
    options.issuer = "https://issuer.kv";
    options.audiences = {"kvstore"};
    if (!cache) options.cache.capacity = 0;
    auto v = std::make_unique<Verifier>(options);
    if (!v->SetKeySetJson(jwks).ok()) std::abort();
    return v;
  }
  Key keys[4];
  std::string tokens[4];
  std::string jwks;
  ManualClock clock{1, kNow};
};

World& W() {
  static World* w = new World();
  return *w;
}

// range(0): algorithm index; range(1): 0 = OpenSSL backend, 1 = libjwt backend.
void BM_VerifyCold(benchmark::State& state) {
  const int i = static_cast<int>(state.range(0));
  const bool libjwt = state.range(1) == 1;
  auto verifier =
      W().MakeVerifier(false, libjwt ? SignatureBackend::kLibJwt : SignatureBackend::kOpenSsl);
  state.SetLabel(absl::StrCat(AlgName(kAlgs[i]), libjwt ? " libjwt" : " openssl"));
  for (auto _ : state) {
    auto p = verifier->VerifyToken(W().tokens[i]);
    if (!p.ok()) state.SkipWithError("refused");
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_VerifyCold)->ArgsProduct({{0, 1, 2, 3}, {0}});
BENCHMARK(BM_VerifyCold)->ArgsProduct({{0, 1, 3}, {1}});

void BM_VerifyCached(benchmark::State& state) {
  const int i = static_cast<int>(state.range(0));
  static std::unique_ptr<Verifier> verifier;
  if (state.thread_index() == 0) {
    verifier = W().MakeVerifier(true);
    if (!verifier->VerifyToken(W().tokens[i]).ok()) std::abort();  // warm
  }
  state.SetLabel(std::string(AlgName(kAlgs[i])));
  for (auto _ : state) {
    auto p = verifier->VerifyToken(W().tokens[i]);
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_VerifyCached)->Arg(0)->Arg(1);
BENCHMARK(BM_VerifyCached)->Arg(0)->Threads(2);

// The cache key alone.
void BM_TokenDigest(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(TokenCache::DigestOf(W().tokens[0]));
}
BENCHMARK(BM_TokenDigest);

// The signature check alone with a pre-parsed EVP_PKEY, no token parsing.
void BM_RawOpenSslVerify(benchmark::State& state) {
  const int i = static_cast<int>(state.range(0));
  const Key& key = W().keys[i];
  const std::string& token = W().tokens[i];
  std::string input = token.substr(0, token.rfind('.'));
  std::string sig = *Base64UrlDecode(token.substr(token.rfind('.') + 1));
  if (kAlgs[i] == Alg::kES256) {  // R||S -> DER for EVP_DigestVerify
    ECDSA_SIG* es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr));
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(es, &der);
    sig.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
  }
  state.SetLabel(std::string(AlgName(kAlgs[i])));
  for (auto _ : state) {
    bool ok;
    if (kAlgs[i] == Alg::kHS256) {
      std::string mac = testing::HmacSha256(key.secret, input);
      ok = CRYPTO_memcmp(mac.data(), sig.data(), 32) == 0;
    } else {
      EvpMdCtxPtr ctx(EVP_MD_CTX_new());
      const EVP_MD* md = kAlgs[i] == Alg::kEdDSA ? nullptr : EVP_sha256();
      ok = EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.pkey.get()) == 1 &&
           EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                            sig.size(), reinterpret_cast<const unsigned char*>(input.data()),
                            input.size()) == 1;
    }
    if (!ok) state.SkipWithError("bad signature");
  }
}
BENCHMARK(BM_RawOpenSslVerify)->DenseRange(0, 3);

}  // namespace
}  // namespace kv::auth

BENCHMARK_MAIN();

#pragma once
// A gtest fixture shared by the verifier tests: one key of each kind (generated once per test
// binary), a verifier on a manual clock with issuer/audience configured, and helpers to build
// claims and check refusals (including that the message never repeats the token). Built with
// KV_AUTH_TEST_LIBJWT_BACKEND, every verifier uses the libjwt signature backend.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "auth/base64url.h"
#include "auth/refusal.h"
#include "auth/testing/test_keys.h"
#include "auth/verifier.h"

namespace kv::auth::testing {

inline constexpr int64_t kNow = 1'700'000'000;

class VerifierFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (rsa_ != nullptr) return;
    rsa_ = new Key(NewKey(Alg::kRS256, "rsa-1"));
    ec_ = new Key(NewKey(Alg::kES256, "ec-1"));
    ed_ = new Key(NewKey(Alg::kEdDSA, "ed-1"));
    hs_ = new Key(NewKey(Alg::kHS256, "hs-1"));
  }

  void SetUp() override { Reset(DefaultOptions()); }

  VerifierOptions DefaultOptions() {
    VerifierOptions options;
    options.clock = &clock_;
#ifdef KV_AUTH_TEST_LIBJWT_BACKEND
    options.signature_backend = SignatureBackend::kLibJwt;
#endif
    options.issuer = "https://issuer.kv";
    options.audiences = {"kvstore"};
    return options;
  }

  // A fresh verifier holding `keys` (all four by default).
  void Reset(VerifierOptions options, std::vector<const Key*> keys = {}) {
    if (keys.empty()) keys = {rsa_, ec_, ed_, hs_};
    verifier_ = std::make_unique<Verifier>(options);
    absl::Status s = verifier_->SetKeySetJson(JwksOf(keys));
    ASSERT_TRUE(s.ok()) << s;
  }

  static std::vector<const Key*> AllKeys() { return {rsa_, ec_, ed_, hs_}; }

  // Valid claims; `edit` may change them.
  static nlohmann::json GoodClaims() {
    return {{"sub", "alice"},   {"iss", "https://issuer.kv"},
            {"aud", "kvstore"}, {"exp", kNow + 3600},
            {"iat", kNow},      {"scope", "read:users/ write:users/alice/"}};
  }
  static std::string HeaderFor(const Key& key, bool with_kid = true) {
    nlohmann::json h = {{"alg", std::string(AlgName(key.alg))}, {"typ", "JWT"}};
    if (with_kid && !key.kid.empty()) h["kid"] = key.kid;
    return h.dump();
  }
  static std::string Good(const Key& key, const nlohmann::json& claims = GoodClaims()) {
    return Forge(key, HeaderFor(key), claims.dump());
  }

  absl::StatusOr<std::shared_ptr<const Principal>> Verify(const std::string& token) {
    return verifier_->VerifyToken(token);
  }

  // Asserts that `token` is refused for `reason` and that the message repeats no segment of it.
  void ExpectRefused(const std::string& token, Refusal reason) {
    absl::StatusOr<std::shared_ptr<const Principal>> p = Verify(token);
    ASSERT_FALSE(p.ok()) << "accepted: " << token;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated);
    std::optional<Refusal> got = RefusalOf(p.status());
    ASSERT_TRUE(got.has_value()) << p.status();
    EXPECT_EQ(RefusalLabel(*got), RefusalLabel(reason)) << p.status();
    std::string message(p.status().message());
    EXPECT_EQ(message.find(token), std::string::npos);
    size_t last_dot = token.rfind('.');
    if (last_dot != std::string::npos && token.size() - last_dot > 8) {
      EXPECT_EQ(message.find(token.substr(last_dot + 1)), std::string::npos) << message;
    }
    size_t first_dot = token.find('.');
    if (first_dot != std::string::npos && last_dot > first_dot + 8) {
      EXPECT_EQ(message.find(token.substr(first_dot + 1, last_dot - first_dot - 1)),
                std::string::npos)
          << message;
    }
  }

  void ExpectAccepted(const std::string& token) {
    absl::StatusOr<std::shared_ptr<const Principal>> p = Verify(token);
    EXPECT_TRUE(p.ok()) << p.status();
  }

  static Key* rsa_;
  static Key* ec_;
  static Key* ed_;
  static Key* hs_;
  ManualClock clock_{1'000'000, kNow};
  std::unique_ptr<Verifier> verifier_;
};

inline Key* VerifierFixture::rsa_ = nullptr;
inline Key* VerifierFixture::ec_ = nullptr;
inline Key* VerifierFixture::ed_ = nullptr;
inline Key* VerifierFixture::hs_ = nullptr;

}  // namespace kv::auth::testing

// Happy paths, key selection, the token cache and key rotation.
#include "auth/verifier.h"

#include <gtest/gtest.h>

#include "auth/mint.h"
#include "auth/testing/verifier_fixture.h"

namespace kv::auth {
namespace {

using testing::Forge;
using testing::JwksOf;
using testing::kNow;
using testing::NewKey;

class VerifierTest : public testing::VerifierFixture {};

TEST_F(VerifierTest, AcceptsAllFourAlgorithms) {
  for (const Key* key : AllKeys()) {
    absl::StatusOr<std::shared_ptr<const Principal>> p = Verify(Good(*key));
    ASSERT_TRUE(p.ok()) << AlgName(key->alg) << ": " << p.status();
    EXPECT_EQ((*p)->alg, key->alg);
    EXPECT_EQ((*p)->kid, key->kid);
    EXPECT_EQ((*p)->subject, "alice");
    EXPECT_EQ((*p)->expires_unix, kNow + 3600);
    EXPECT_TRUE((*p)->permissions.CanRead("users/7"));
    EXPECT_TRUE((*p)->permissions.CanWrite("users/alice/x"));
    EXPECT_FALSE((*p)->permissions.CanWrite("users/bob"));
  }
}

TEST_F(VerifierTest, AcceptsTokensMintedByTheLibrary) {
  // RS256/ES256/HS256 are signed by libjwt, EdDSA by OpenSSL: both paths must agree with the
  // raw-OpenSSL forger used elsewhere.
  for (const Key* key : AllKeys()) {
    MintRequest r;
    r.scope = "admin";
    r.issuer = "https://issuer.kv";
    r.audiences = {"other", "kvstore"};
    r.now = absl::FromUnixSeconds(kNow);
    absl::StatusOr<std::string> token = MintToken(*key, r);
    ASSERT_TRUE(token.ok()) << token.status();
    absl::StatusOr<std::shared_ptr<const Principal>> p = Verify(*token);
    ASSERT_TRUE(p.ok()) << AlgName(key->alg) << ": " << p.status();
    EXPECT_TRUE((*p)->permissions.IsAdmin());
  }
}

TEST_F(VerifierTest, WithoutKidTriesTheKeysOfTheHeaderAlg) {
  Key ec2 = NewKey(Alg::kES256, "");
  Key ec3 = NewKey(Alg::kES256, "");
  Reset(DefaultOptions(), {ec_, rsa_, &ec2, &ec3});
  for (const Key* key : {static_cast<const Key*>(ec_), static_cast<const Key*>(&ec3)}) {
    std::string token = Forge(*key, R"({"alg":"ES256"})", GoodClaims().dump());
    absl::StatusOr<std::shared_ptr<const Principal>> p = Verify(token);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ((*p)->kid, key->kid);
  }
}

TEST_F(VerifierTest, AudienceArrayAndUncheckedIssuer) {
  nlohmann::json c = GoodClaims();
  c["aud"] = {"a", "kvstore", "b"};
  ExpectAccepted(Good(*ec_, c));

  VerifierOptions open = DefaultOptions();
  open.issuer.clear();
  open.audiences.clear();
  Reset(open);
  c.erase("iss");
  c.erase("aud");
  ExpectAccepted(Good(*ec_, c));
}

TEST_F(VerifierTest, ExpAndNbfHonourTheSkewBoundaries) {
  nlohmann::json c = GoodClaims();
  c["exp"] = kNow - 30;  // expired 30 s ago: still inside the 30 s skew
  c["nbf"] = kNow + 30;  // valid in 30 s: also inside
  ExpectAccepted(Good(*hs_, c));

  VerifierOptions strict = DefaultOptions();
  strict.clock_skew = absl::ZeroDuration();
  Reset(strict);
  ExpectRefused(Good(*hs_, c), Refusal::kExpired);
  c["exp"] = kNow + 60;
  ExpectRefused(Good(*hs_, c), Refusal::kNotYetValid);
  c["nbf"] = kNow;
  c["exp"] = kNow;
  ExpectAccepted(Good(*hs_, c));
  c["exp"] = kNow - 1;
  ExpectRefused(Good(*hs_, c), Refusal::kExpired);
  c["exp"] = kNow + 0.5;  // fractional NumericDate, rounded down
  ExpectAccepted(Good(*hs_, c));
}

TEST_F(VerifierTest, AuthorizationHeaderForms) {
  std::string token = Good(*ed_);
  EXPECT_TRUE(verifier_->VerifyAuthorization("Bearer " + token).ok());
  EXPECT_TRUE(verifier_->VerifyAuthorization("bearer  " + token).ok());
  EXPECT_TRUE(verifier_->VerifyAuthorization("BEARER " + token + " ").ok());
  for (std::optional<absl::string_view> bad :
       {std::optional<absl::string_view>(), std::optional<absl::string_view>(""),
        std::optional<absl::string_view>("Bearer"), std::optional<absl::string_view>("Bearer   "),
        std::optional<absl::string_view>("Basic dXNlcjpwYXNz"),
        std::optional<absl::string_view>(token)}) {
    absl::StatusOr<std::shared_ptr<const Principal>> p = verifier_->VerifyAuthorization(bad);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(RefusalOf(p.status()), Refusal::kMissing) << p.status();
  }
  absl::StatusOr<std::shared_ptr<const Principal>> p =
      verifier_->VerifyAuthorization("Bearer " + token + " extra");
  EXPECT_EQ(RefusalOf(p.status()), Refusal::kMalformed);
}

TEST_F(VerifierTest, SecondVerifyIsACacheHit) {
  std::string token = Good(*rsa_);
  absl::StatusOr<std::shared_ptr<const Principal>> first = Verify(token);
  ASSERT_TRUE(first.ok());
  absl::StatusOr<std::shared_ptr<const Principal>> second = Verify(token);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->get(), second->get());  // the same shared Principal
  TokenCacheStats s = verifier_->cache_stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.inserts, 1u);
}

TEST_F(VerifierTest, RefusedTokensAreNotCached) {
  nlohmann::json c = GoodClaims();
  c["iss"] = "someone-else";
  std::string token = Good(*rsa_, c);
  ExpectRefused(token, Refusal::kWrongIssuer);
  ExpectRefused(token, Refusal::kWrongIssuer);
  EXPECT_EQ(verifier_->cache_stats().inserts, 0u);
}

TEST_F(VerifierTest, CachedTokenExpiresAtExpPlusSkew) {
  nlohmann::json c = GoodClaims();
  c["exp"] = kNow + 10;
  std::string token = Good(*ec_, c);
  ExpectAccepted(token);
  clock_.SetUnixSeconds(kNow + 40);  // exp + skew: still valid
  ExpectAccepted(token);
  EXPECT_EQ(verifier_->cache_stats().hits, 1u);
  clock_.SetUnixSeconds(kNow + 41);
  ExpectRefused(token, Refusal::kExpired);
  EXPECT_EQ(verifier_->cache_stats().expirations, 1u);
}

TEST_F(VerifierTest, KeySetChangeInvalidatesTheCache) {
  std::string token = Good(*ec_);
  ExpectAccepted(token);
  uint64_t before = verifier_->generation();
  ASSERT_TRUE(verifier_->SetKeySetJson(JwksOf(AllKeys())).ok());
  EXPECT_GT(verifier_->generation(), before);
  ExpectAccepted(token);
  EXPECT_EQ(verifier_->cache_stats().hits, 0u);  // re-verified, not served from the cache

  // Rotating the key out refuses its tokens at once, though they were cached.
  ExpectAccepted(token);
  EXPECT_EQ(verifier_->cache_stats().hits, 1u);
  ASSERT_TRUE(verifier_->SetKeySetJson(JwksOf({rsa_, ed_})).ok());
  ExpectRefused(token, Refusal::kUnknownKid);
}

TEST_F(VerifierTest, BadKeySetKeepsTheCurrentOne) {
  std::string token = Good(*ed_);
  std::shared_ptr<const KeySet> before = verifier_->key_set();
  absl::Status s =
      verifier_->SetKeySetJson(R"({"keys":[{"kty":"RSA","kid":"x","n":"AQAB","e":"AQAB"}]})");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("kid \"x\""), std::string::npos) << s;
  EXPECT_EQ(verifier_->key_set(), before);
  ExpectAccepted(token);
}

TEST_F(VerifierTest, RemovingTheKeySetRefusesEverything) {
  std::string token = Good(*ed_);
  ExpectAccepted(token);
  verifier_->SetKeySet(nullptr);
  ExpectRefused(token, Refusal::kNoKeySet);
}

TEST_F(VerifierTest, CacheCanBeDisabled) {
  VerifierOptions options = DefaultOptions();
  options.cache.capacity = 0;
  Reset(options);
  std::string token = Good(*hs_);
  ExpectAccepted(token);
  ExpectAccepted(token);
  EXPECT_EQ(verifier_->cache_stats().hits, 0u);
}

}  // namespace
}  // namespace kv::auth

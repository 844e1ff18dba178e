#include "auth/key_set.h"

#include <gtest/gtest.h>

#include "auth/testing/test_keys.h"

namespace kv::auth {
namespace {

using testing::JwksOf;
using testing::NewKey;

nlohmann::json PublicJwkOf(const Key& key) { return *PublicJwk(key); }

std::string Jwks(std::vector<nlohmann::json> keys) { return nlohmann::json{{"keys", keys}}.dump(); }

absl::Status ParseError(const std::string& jwks) {
  absl::StatusOr<std::shared_ptr<const KeySet>> set = KeySet::Parse(jwks);
  return set.ok() ? absl::OkStatus() : set.status();
}

class KeySetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new Key(NewKey(Alg::kRS256, "rsa-1"));
    ec_ = new Key(NewKey(Alg::kES256, "ec-1"));
    ed_ = new Key(NewKey(Alg::kEdDSA, "ed-1"));
    hs_ = new Key(NewKey(Alg::kHS256, "hs-1"));
  }
  static Key* rsa_;
  static Key* ec_;
  static Key* ed_;
  static Key* hs_;
};
Key* KeySetTest::rsa_;
Key* KeySetTest::ec_;
Key* KeySetTest::ed_;
Key* KeySetTest::hs_;

TEST_F(KeySetTest, ParsesAllFourKinds) {
  absl::StatusOr<std::shared_ptr<const KeySet>> set = KeySet::Parse(JwksOf({rsa_, ec_, ed_, hs_}));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->size(), 4u);
  ASSERT_NE((*set)->FindByKid("rsa-1"), nullptr);
  EXPECT_EQ((*set)->FindByKid("rsa-1")->key.alg, Alg::kRS256);
  EXPECT_FALSE((*set)->FindByKid("rsa-1")->public_pem.empty());
  EXPECT_EQ((*set)->FindByKid("ec-1")->key.alg, Alg::kES256);
  EXPECT_EQ((*set)->FindByKid("ed-1")->key.alg, Alg::kEdDSA);
  EXPECT_EQ((*set)->FindByKid("hs-1")->key.alg, Alg::kHS256);
  EXPECT_EQ((*set)->FindByKid("nope"), nullptr);
  EXPECT_EQ((*set)->KeysFor(Alg::kES256).size(), 1u);
  EXPECT_FALSE((*set)->FindByKid("rsa-1")->key.is_private);
}

TEST_F(KeySetTest, KeysWithoutKidOrAlgAreFine) {
  nlohmann::json jwk = PublicJwkOf(*ec_);
  jwk.erase("kid");
  jwk.erase("alg");
  jwk.erase("use");
  absl::StatusOr<std::shared_ptr<const KeySet>> set = KeySet::Parse(Jwks({jwk}));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->KeysFor(Alg::kES256).size(), 1u);
}

TEST_F(KeySetTest, RefusesDuplicateKid) {
  nlohmann::json a = PublicJwkOf(*ec_);
  nlohmann::json b = PublicJwkOf(*ed_);
  b["kid"] = "ec-1";
  absl::Status s = ParseError(Jwks({a, b}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("key #1 (kid \"ec-1\"): duplicate kid"), std::string::npos) << s;
}

TEST_F(KeySetTest, RefusesUnknownKtyNamingTheKey) {
  nlohmann::json bad = {{"kty", "XYZ"}, {"kid", "weird"}};
  absl::Status s = ParseError(Jwks({PublicJwkOf(*ec_), bad}));
  EXPECT_NE(s.message().find("key #1 (kid \"weird\")"), std::string::npos) << s;
  EXPECT_NE(s.message().find("kty"), std::string::npos) << s;
}

TEST_F(KeySetTest, RefusesSmallRsa) {
  Key small = NewKey(Alg::kRS256, "small", 1024);
  // PublicJwk does not judge sizes; the key set does.
  absl::Status s = ParseError(Jwks({PublicJwkOf(small)}));
  EXPECT_NE(s.message().find("1024 bits"), std::string::npos) << s;
}

TEST_F(KeySetTest, RefusesPrivateMembers) {
  for (const Key* key : {static_cast<const Key*>(rsa_), static_cast<const Key*>(ec_),
                         static_cast<const Key*>(ed_)}) {
    nlohmann::json jwk = *PrivateJwk(*key);
    absl::Status s = ParseError(Jwks({jwk}));
    EXPECT_NE(s.message().find("private member \"d\""), std::string::npos) << s;
  }
}

TEST_F(KeySetTest, RefusesAlgThatDoesNotFitTheKey) {
  nlohmann::json jwk = PublicJwkOf(*rsa_);
  jwk["alg"] = "HS256";
  absl::Status s = ParseError(Jwks({jwk}));
  EXPECT_NE(s.message().find("does not fit kty \"RSA\""), std::string::npos) << s;
  jwk["alg"] = "none";
  EXPECT_FALSE(ParseError(Jwks({jwk})).ok());
  jwk["alg"] = "RS384";
  EXPECT_FALSE(ParseError(Jwks({jwk})).ok());
}

TEST_F(KeySetTest, RefusesOtherCurvesAndBadPoints) {
  nlohmann::json jwk = PublicJwkOf(*ec_);
  jwk["crv"] = "P-384";
  EXPECT_FALSE(ParseError(Jwks({jwk})).ok());
  jwk = PublicJwkOf(*ec_);
  std::string y = jwk["y"];
  y[5] = y[5] == 'A' ? 'B' : 'A';  // a point off the curve
  jwk["y"] = y;
  absl::Status s = ParseError(Jwks({jwk}));
  EXPECT_FALSE(s.ok());
  jwk = PublicJwkOf(*ed_);
  jwk["crv"] = "Ed448";
  EXPECT_FALSE(ParseError(Jwks({jwk})).ok());
  jwk = PublicJwkOf(*ed_);
  jwk["x"] = "AAAA";
  EXPECT_NE(ParseError(Jwks({jwk})).message().find("must be 32 bytes"), std::string::npos);
}

TEST_F(KeySetTest, RefusesShortHmacSecretsAndEncKeys) {
  nlohmann::json jwk = {{"kty", "oct"}, {"k", "c2hvcnQ"}};
  EXPECT_NE(ParseError(Jwks({jwk})).message().find("at least 32"), std::string::npos);
  jwk = PublicJwkOf(*hs_);
  jwk["use"] = "enc";
  EXPECT_FALSE(ParseError(Jwks({jwk})).ok());
}

TEST_F(KeySetTest, RefusesBrokenDocuments) {
  EXPECT_FALSE(ParseError("").ok());
  EXPECT_FALSE(ParseError("{}").ok());
  EXPECT_FALSE(ParseError(R"({"keys":[]})").ok());
  EXPECT_FALSE(ParseError(R"({"keys":{}})").ok());
  EXPECT_FALSE(ParseError(R"({"keys":[1]})").ok());
  std::string dup = R"({"keys":[],"keys":)" + JwksOf({ec_}).substr(8);
  EXPECT_NE(ParseError(dup).message().find("duplicate"), std::string::npos);
  nlohmann::json jwk = PublicJwkOf(*ec_);
  jwk["x"] = "not base64url!";
  EXPECT_NE(ParseError(Jwks({jwk})).message().find("base64url"), std::string::npos);
}

TEST_F(KeySetTest, RefusesTooManyKeys) {
  std::vector<nlohmann::json> keys;
  for (int i = 0; i < 40; ++i) {
    nlohmann::json jwk = PublicJwkOf(*hs_);
    jwk["kid"] = "k" + std::to_string(i);
    keys.push_back(jwk);
  }
  EXPECT_NE(ParseError(Jwks(keys)).message().find("limit"), std::string::npos);
}

}  // namespace
}  // namespace kv::auth

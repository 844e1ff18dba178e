#include "auth/mint.h"

#include <gtest/gtest.h>

#include "auth/base64url.h"
#include "auth/testing/test_keys.h"
#include "auth/verifier.h"

namespace kv::auth {
namespace {

using testing::NewKey;

constexpr int64_t kNow = 1'700'000'000;

nlohmann::json Claims(const std::string& token) {
  size_t a = token.find('.');
  size_t b = token.find('.', a + 1);
  return nlohmann::json::parse(*Base64UrlDecode(token.substr(a + 1, b - a - 1)));
}
nlohmann::json Header(const std::string& token) {
  return nlohmann::json::parse(*Base64UrlDecode(token.substr(0, token.find('.'))));
}

MintRequest Request() {
  MintRequest r;
  r.scope = "read:users/ admin";
  r.ttl = absl::Minutes(10);
  r.subject = "alice";
  r.issuer = "kv-dev";
  r.audiences = {"kvstore"};
  r.now = absl::FromUnixSeconds(kNow);
  return r;
}

// Mints with `key_file`, builds the JWKS from the same file, and verifies.
void RoundTrip(const std::string& key_file, Alg want_alg) {
  absl::StatusOr<std::string> token = MintToken(key_file, Request());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(Header(*token)["alg"], std::string(AlgName(want_alg)));
  absl::StatusOr<std::string> jwks = PublicJwksFromKeyFile(key_file);
  ASSERT_TRUE(jwks.ok()) << jwks.status();

  ManualClock clock(1, kNow + 5);
  VerifierOptions options;
  options.clock = &clock;
  options.issuer = "kv-dev";
  options.audiences = {"kvstore"};
  Verifier verifier(options);
  ASSERT_TRUE(verifier.SetKeySetJson(*jwks).ok());
  absl::StatusOr<std::shared_ptr<const Principal>> p = verifier.VerifyToken(*token);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->subject, "alice");
  EXPECT_EQ((*p)->alg, want_alg);
  EXPECT_EQ((*p)->expires_unix, kNow + 600);
  EXPECT_TRUE((*p)->permissions.IsAdmin());
  EXPECT_TRUE((*p)->permissions.CanRead("users/1"));
}

TEST(Mint, FromPemPrivateKeys) {
  for (Alg alg : {Alg::kRS256, Alg::kES256, Alg::kEdDSA}) {
    Key key = NewKey(alg, "");
    RoundTrip(*PrivateKeyPem(key.pkey.get()), alg);
  }
}

TEST(Mint, FromPrivateJwks) {
  for (Alg alg : {Alg::kRS256, Alg::kES256, Alg::kEdDSA, Alg::kHS256}) {
    Key key = NewKey(alg, "file-kid");
    std::string jwk = PrivateJwk(key)->dump();
    RoundTrip(jwk, alg);
    RoundTrip(nlohmann::json{{"keys", {nlohmann::json::parse(jwk)}}}.dump(), alg);
  }
}

TEST(Mint, FromRawSecret) {
  RoundTrip("0123456789abcdef0123456789abcdef\n", Alg::kHS256);
  EXPECT_FALSE(MintToken("too-short-secret\n", Request()).ok());
}

TEST(Mint, ClaimsAndHeader) {
  Key key = NewKey(Alg::kES256, "file-kid");
  std::string file = PrivateJwk(key)->dump();
  std::string token = *MintToken(file, Request());
  nlohmann::json c = Claims(token);
  EXPECT_EQ(c["sub"], "alice");
  EXPECT_EQ(c["iss"], "kv-dev");
  EXPECT_EQ(c["aud"], "kvstore");
  EXPECT_EQ(c["iat"], kNow);
  EXPECT_EQ(c["exp"], kNow + 600);
  EXPECT_EQ(c["scope"], "read:users/ admin");
  EXPECT_EQ(Header(token)["kid"], "file-kid");
  EXPECT_EQ(Header(token)["typ"], "JWT");

  MintRequest r = Request();
  r.kid = "override";
  r.audiences = {"a", "b"};
  token = *MintToken(file, r);
  EXPECT_EQ(Header(token)["kid"], "override");
  EXPECT_EQ(Claims(token)["aud"], nlohmann::json({"a", "b"}));
  EXPECT_EQ(Header(token)["alg"], "ES256");
}

TEST(Mint, RefusesUnusableKeyFiles) {
  Key key = NewKey(Alg::kES256, "");
  EXPECT_FALSE(MintToken(testing::PublicPem(key), Request()).ok());
  EXPECT_FALSE(MintToken(PublicJwk(key)->dump(), Request()).ok());  // no "d"
  EXPECT_FALSE(MintToken(R"({"keys":[]})", Request()).ok());
  EXPECT_FALSE(
      MintToken("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n", Request()).ok());
  MintRequest r = Request();
  r.ttl = absl::ZeroDuration();
  EXPECT_FALSE(MintToken(*PrivateKeyPem(key.pkey.get()), r).ok());
}

TEST(Mint, PublicJwksHasNoPrivateParts) {
  Key key = NewKey(Alg::kRS256, "");
  std::string jwks = *PublicJwksFromKeyFile(*PrivateKeyPem(key.pkey.get()), "rsa-dev");
  nlohmann::json j = nlohmann::json::parse(jwks);
  ASSERT_EQ(j["keys"].size(), 1u);
  EXPECT_EQ(j["keys"][0]["kid"], "rsa-dev");
  EXPECT_EQ(j["keys"][0]["alg"], "RS256");
  for (const char* m : {"d", "p", "q", "dp", "dq", "qi"}) EXPECT_FALSE(j["keys"][0].contains(m));
}

}  // namespace
}  // namespace kv::auth

// Every refusal, each as a test that tries to get a token past the check.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "auth/testing/verifier_fixture.h"
#include "auth/verifier.h"

namespace kv::auth {
namespace {

using testing::Forge;
using testing::HmacSha256;
using testing::JwksOf;
using testing::kNow;
using testing::NewKey;
using testing::PublicDer;
using testing::PublicPem;
using testing::SigningInput;

class RefusalTest : public testing::VerifierFixture {
 protected:
  // A token signed with HMAC-SHA-256 keyed by arbitrary bytes.
  static std::string HmacToken(absl::string_view secret, const nlohmann::json& header,
                               const nlohmann::json& claims = GoodClaims()) {
    std::string input = SigningInput(header.dump(), claims.dump());
    return absl::StrCat(input, ".", Base64UrlEncode(HmacSha256(secret, input)));
  }
  // Replaces the payload segment of `token`, keeping its header and signature.
  static std::string WithPayload(const std::string& token, const nlohmann::json& claims) {
    size_t a = token.find('.');
    size_t b = token.rfind('.');
    return absl::StrCat(token.substr(0, a + 1), Base64UrlEncode(claims.dump()), token.substr(b));
  }
};

TEST_F(RefusalTest, AlgNoneWithEmptySignature) {
  nlohmann::json c = GoodClaims();
  c["scope"] = "admin read: write:";
  for (const char* alg : {"none", "None", "NONE"}) {
    std::string input = SigningInput(absl::StrCat(R"({"alg":")", alg, R"("})"), c.dump());
    ExpectRefused(input + ".", Refusal::kAlgNotAllowed);
    ExpectRefused(input + ".AAAA", Refusal::kAlgNotAllowed);
    // Naming a real key's kid does not help.
    std::string with_kid =
        SigningInput(absl::StrCat(R"({"alg":")", alg, R"(","kid":"hs-1"})"), c.dump());
    ExpectRefused(with_kid + ".", Refusal::kAlgNotAllowed);
  }
  ExpectRefused(SigningInput(R"({"alg":"none"})", c.dump()), Refusal::kMalformed);  // 2 segments
}

TEST_F(RefusalTest, HS256WithRsaPublicKeyPemAsSecretNamingTheRsaKid) {
  // The classic key confusion: HMAC keyed with the bytes of the verifier's own public key.
  for (const std::string& secret : {PublicPem(*rsa_), PublicDer(*rsa_)}) {
    ExpectRefused(HmacToken(secret, {{"alg", "HS256"}, {"kid", "rsa-1"}}), Refusal::kAlgNotAllowed);
  }
  for (const std::string& secret : {PublicPem(*ec_), PublicDer(*ec_), PublicPem(*ed_)}) {
    ExpectRefused(HmacToken(secret, {{"alg", "HS256"}, {"kid", "ec-1"}}), Refusal::kAlgNotAllowed);
  }
}

TEST_F(RefusalTest, HS256WithRsaPublicKeyAsSecretWithoutKid) {
  // No kid: only "oct" keys are tried for HS256, never the RSA key's bytes.
  Reset(DefaultOptions(), {rsa_, ec_, ed_});
  for (const std::string& secret : {PublicPem(*rsa_), PublicDer(*rsa_), PublicPem(*ec_)}) {
    ExpectRefused(HmacToken(secret, {{"alg", "HS256"}}), Refusal::kAlgNotAllowed);
  }
  Reset(DefaultOptions());  // with an HS256 key present the forged MAC simply fails
  for (const std::string& secret : {PublicPem(*rsa_), PublicDer(*rsa_), PublicPem(*ec_)}) {
    ExpectRefused(HmacToken(secret, {{"alg", "HS256"}}), Refusal::kBadSignature);
  }
}

TEST_F(RefusalTest, AsymmetricAlgNamingTheHmacKid) {
  // The reverse confusion: an RS256/ES256/EdDSA header naming the HS256 key.
  for (const Key* key : {rsa_, ec_, ed_}) {
    Key renamed = testing::CopyKey(*key);
    renamed.kid = "hs-1";
    ExpectRefused(Good(renamed), Refusal::kAlgNotAllowed);
  }
}

TEST_F(RefusalTest, AlgOfAnotherKindNamingAnAsymmetricKid) {
  Key renamed = testing::CopyKey(*ed_);
  renamed.kid = "ec-1";
  ExpectRefused(Good(renamed), Refusal::kAlgNotAllowed);
}

TEST_F(RefusalTest, TamperedPayload) {
  nlohmann::json elevated = GoodClaims();
  elevated["scope"] = "admin read: write:";
  for (const Key* key : AllKeys()) {
    std::string token = Good(*key);
    ExpectAccepted(token);
    ExpectRefused(WithPayload(token, elevated), Refusal::kBadSignature);
  }
}

TEST_F(RefusalTest, TamperedHeaderOrSignature) {
  for (const Key* key : AllKeys()) {
    std::string token = Good(*key);
    std::string flipped = token;
    char& c = flipped[flipped.size() - 3];
    c = c == 'A' ? 'B' : 'A';
    ExpectRefused(flipped, Refusal::kBadSignature);
    // Same claims and signature under an equivalent but different header.
    nlohmann::json h = nlohmann::json::parse(HeaderFor(*key));
    h["typ"] = "jwt";
    std::string reheadered = absl::StrCat(Base64UrlEncode(h.dump()), token.substr(token.find('.')));
    ExpectRefused(reheadered, Refusal::kBadSignature);
  }
}

TEST_F(RefusalTest, SignatureFromAnotherKeyWithTheSameKid) {
  for (const Key* key : AllKeys()) {
    Key impostor = NewKey(key->alg, key->kid);
    ExpectRefused(Good(impostor), Refusal::kBadSignature);
    // Without a kid, too.
    ExpectRefused(Forge(impostor, HeaderFor(impostor, false), GoodClaims().dump()),
                  Refusal::kBadSignature);
  }
}

TEST_F(RefusalTest, EmbeddedJwkHeaderIsNeverTrusted) {
  Key attacker = NewKey(Alg::kES256, "");
  nlohmann::json h = {{"alg", "ES256"},
                      {"jwk", *PublicJwk(attacker)},
                      {"jku", "https://attacker.example/jwks.json"}};
  ExpectRefused(Forge(attacker, h.dump(), GoodClaims().dump()), Refusal::kBadSignature);
}

TEST_F(RefusalTest, EcdsaSignatureInDerOrDegenerateForm) {
  std::string token = Good(*ec_);
  std::string input = token.substr(0, token.rfind('.'));
  ExpectRefused(input + "." + Base64UrlEncode(std::string(64, '\0')), Refusal::kBadSignature);
  // A DER ECDSA-Sig-Value (what OpenSSL emits) is not the JWS form.
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, ec_->pkey.get()), 1);
  unsigned char der[80];
  size_t len = sizeof(der);
  ASSERT_EQ(EVP_DigestSign(ctx.get(), der, &len,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  ExpectRefused(input + "." + Base64UrlEncode(absl::string_view(reinterpret_cast<char*>(der), len)),
                Refusal::kBadSignature);
  ExpectRefused(input + "." + Base64UrlEncode(std::string(65, 'x')), Refusal::kBadSignature);
}

TEST_F(RefusalTest, ExpiredBySkewPlusOneSecond) {
  nlohmann::json c = GoodClaims();
  c["exp"] = kNow - 31;
  for (const Key* key : AllKeys()) ExpectRefused(Good(*key, c), Refusal::kExpired);
}

TEST_F(RefusalTest, NotBeforeInTheFuture) {
  nlohmann::json c = GoodClaims();
  c["nbf"] = kNow + 31;
  ExpectRefused(Good(*ed_, c), Refusal::kNotYetValid);
  c["nbf"] = kNow + 30.5;  // rounded up
  ExpectRefused(Good(*ed_, c), Refusal::kNotYetValid);
}

TEST_F(RefusalTest, WrongOrMissingIssuer) {
  nlohmann::json c = GoodClaims();
  c["iss"] = "https://issuer.kv.evil";
  ExpectRefused(Good(*rsa_, c), Refusal::kWrongIssuer);
  c.erase("iss");
  ExpectRefused(Good(*rsa_, c), Refusal::kWrongIssuer);
  c["iss"] = nlohmann::json::array({"https://issuer.kv"});
  ExpectRefused(Good(*rsa_, c), Refusal::kMalformed);
}

TEST_F(RefusalTest, WrongOrMissingAudience) {
  nlohmann::json c = GoodClaims();
  c["aud"] = "kvstore-staging";
  ExpectRefused(Good(*ec_, c), Refusal::kWrongAudience);
  c["aud"] = {"a", "b"};
  ExpectRefused(Good(*ec_, c), Refusal::kWrongAudience);
  c["aud"] = nlohmann::json::array();
  ExpectRefused(Good(*ec_, c), Refusal::kWrongAudience);
  c.erase("aud");
  ExpectRefused(Good(*ec_, c), Refusal::kWrongAudience);
  c["aud"] = {"kvstore", 7};
  ExpectRefused(Good(*ec_, c), Refusal::kMalformed);
}

TEST_F(RefusalTest, UnknownKid) {
  Key stranger = NewKey(Alg::kEdDSA, "ed-2");
  ExpectRefused(Good(stranger), Refusal::kUnknownKid);
  Key long_kid = NewKey(Alg::kHS256, std::string(5000, 'k'));
  absl::StatusOr<std::shared_ptr<const Principal>> p = Verify(Good(long_kid));
  EXPECT_EQ(RefusalOf(p.status()), Refusal::kUnknownKid);
  EXPECT_LT(p.status().message().size(), 200u);  // the kid is cut in the message
}

TEST_F(RefusalTest, ValidTokenWithoutTheScope) {
  absl::StatusOr<std::shared_ptr<const Principal>> p = Verify(Good(*rsa_));
  ASSERT_TRUE(p.ok());
  const Permissions& perms = (*p)->permissions;
  absl::Status s = perms.Check(Action::kRead, "groups/admins");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "missing scope read:groups/admins");
  EXPECT_EQ(perms.Check(Action::kWrite, "users/bob/x").message(),
            "missing scope write:users/bob/x");
  EXPECT_EQ(perms.Check(Action::kAdmin).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(perms.Check(Action::kReplicate).code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(RefusalTest, ListOutsideTheGrantedPrefix) {
  absl::StatusOr<std::shared_ptr<const Principal>> p = Verify(Good(*rsa_));
  ASSERT_TRUE(p.ok());
  const Permissions& perms = (*p)->permissions;
  EXPECT_TRUE(perms.Check(Action::kList, "users/").ok());
  EXPECT_TRUE(perms.Check(Action::kList, "users/a").ok());
  for (const char* prefix : {"", "u", "users", "groups/"}) {
    absl::Status s = perms.Check(Action::kList, prefix);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << prefix;
    EXPECT_EQ(s.message(), absl::StrCat("missing scope read:", prefix));
  }
}

TEST_F(RefusalTest, ReservedNamespaceWithoutAdmin) {
  nlohmann::json c = GoodClaims();
  c["scope"] = "read: write: read:__kv/ write:__kv/";
  absl::StatusOr<std::shared_ptr<const Principal>> p = Verify(Good(*ec_, c));
  ASSERT_TRUE(p.ok());
  const Permissions& perms = (*p)->permissions;
  EXPECT_TRUE(perms.CanRead("users/1"));
  for (Action a : {Action::kRead, Action::kWrite, Action::kList}) {
    absl::Status s = perms.Check(a, "__kv/keyset");
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_NE(s.message().find("missing scope admin"), std::string::npos);
  }
  c["scope"] = "admin";
  p = Verify(Good(*ec_, c));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE((*p)->permissions.Check(Action::kWrite, "__kv/keyset").ok());
}

TEST_F(RefusalTest, OversizedToken) {
  nlohmann::json c = GoodClaims();
  c["pad"] = std::string(6200, 'p');  // validly signed, but > 8 KiB once encoded
  std::string token = Good(*hs_, c);
  ASSERT_GT(token.size(), 8192u);
  ExpectRefused(token, Refusal::kMalformed);
  ExpectRefused(std::string(1 << 20, 'A'), Refusal::kMalformed);
  c["pad"] = std::string(5000, 'p');
  ExpectAccepted(Good(*hs_, c));
}

TEST_F(RefusalTest, JunkBase64) {
  std::string token = Good(*hs_);
  ExpectRefused(token + "==", Refusal::kMalformed);
  ExpectRefused(token + "!", Refusal::kMalformed);
  ExpectRefused(token.substr(0, 10) + "+/" + token.substr(12), Refusal::kMalformed);
  ExpectRefused("not a token at all", Refusal::kMalformed);
  ExpectRefused("....", Refusal::kMalformed);
  ExpectRefused(std::string("\xff\xfe.abc.def"), Refusal::kMalformed);
  // Header that is base64url but not JSON.
  ExpectRefused(absl::StrCat(Base64UrlEncode("{alg:HS256}"), ".e30.c2ln"), Refusal::kMalformed);
}

TEST_F(RefusalTest, NonCanonicalBase64EvenWhenSigned) {
  // Signed over the exact bytes, so only strictness can refuse it: the payload's last
  // character carries non-zero unused bits (it decodes to the same JSON as the canonical one).
  nlohmann::json c = GoodClaims();
  c["pad"] = "";
  std::string payload = Base64UrlEncode(c.dump());
  while (payload.size() % 4 == 0) {
    c["pad"] = c["pad"].get<std::string>() + "p";
    payload = Base64UrlEncode(c.dump());
  }
  std::string canonical = absl::StrCat(Base64UrlEncode(HeaderFor(*hs_)), ".", payload);
  ExpectAccepted(absl::StrCat(canonical, ".", Base64UrlEncode(HmacSha256(hs_->secret, canonical))));
  std::string odd = payload;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  odd.back() = alphabet[alphabet.find(odd.back()) + 1];
  std::string input = absl::StrCat(Base64UrlEncode(HeaderFor(*hs_)), ".", odd);
  ExpectRefused(absl::StrCat(input, ".", Base64UrlEncode(HmacSha256(hs_->secret, input))),
                Refusal::kMalformed);
}

TEST_F(RefusalTest, DuplicateJsonMembers) {
  // Signed correctly; a lenient parser would take the last "scope" (libjwt/jansson and
  // nlohmann::json both do).
  std::string claims =
      R"({"sub":"alice","iss":"https://issuer.kv","aud":"kvstore","exp":1700003600,)"
      R"("scope":"read:users/","scope":"admin read: write:"})";
  ExpectRefused(Forge(*hs_, HeaderFor(*hs_), claims), Refusal::kMalformed);
  ExpectRefused(Forge(*ec_, R"({"alg":"ES256","kid":"ec-1","kid":"hs-1"})", GoodClaims().dump()),
                Refusal::kMalformed);
  ExpectRefused(Forge(*hs_, R"({"alg":"HS256","alg":"none"})", GoodClaims().dump()),
                Refusal::kMalformed);
}

TEST_F(RefusalTest, ClaimsOfTheWrongType) {
  for (auto [name, value] :
       std::vector<std::pair<const char*, nlohmann::json>>{{"exp", "1800000000"},
                                                           {"exp", true},
                                                           {"exp", -1},
                                                           {"exp", 1e300},
                                                           {"nbf", "0"},
                                                           {"scope", {"admin"}},
                                                           {"sub", 7},
                                                           {"iat", nullptr}}) {
    nlohmann::json c = GoodClaims();
    c[name] = value;
    ExpectRefused(Good(*ed_, c), Refusal::kMalformed);
  }
  ExpectRefused(Forge(*ed_, HeaderFor(*ed_), "[1,2,3]"), Refusal::kMalformed);
  ExpectRefused(Forge(*ed_, HeaderFor(*ed_), "not json"), Refusal::kMalformed);
}

TEST_F(RefusalTest, MissingExp) {
  nlohmann::json c = GoodClaims();
  c.erase("exp");
  ExpectRefused(Good(*rsa_, c), Refusal::kMalformed);
  VerifierOptions options = DefaultOptions();
  options.require_exp = false;
  Reset(options);
  ExpectAccepted(Good(*rsa_, c));
  EXPECT_EQ(verifier_->cache_stats().inserts, 0u);  // nothing bounds its cache life
}

TEST_F(RefusalTest, UnsupportedAlgorithmsAndJwe) {
  for (const char* alg : {"HS384", "HS512", "RS512", "PS256", "ES384", "hs256", "Ed25519"}) {
    ExpectRefused(HmacToken(hs_->secret, {{"alg", alg}, {"kid", "hs-1"}}), Refusal::kAlgNotAllowed);
  }
  std::string jwe =
      absl::StrCat(Base64UrlEncode(R"({"alg":"RSA-OAEP","enc":"A256GCM"})"), ".a.b.c.d");
  ExpectRefused(jwe, Refusal::kMalformed);
  ExpectRefused(Good(*hs_) + ".extra", Refusal::kMalformed);
}

TEST_F(RefusalTest, NoKeySet) {
  Verifier empty(DefaultOptions());
  absl::StatusOr<std::shared_ptr<const Principal>> p = empty.VerifyToken(Good(*hs_));
  EXPECT_EQ(RefusalOf(p.status()), Refusal::kNoKeySet);
}

TEST_F(RefusalTest, MissingCredentials) {
  absl::StatusOr<std::shared_ptr<const Principal>> p = verifier_->VerifyAuthorization(std::nullopt);
  EXPECT_EQ(RefusalOf(p.status()), Refusal::kMissing);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(p.status().message(), "missing: no authorization metadata");
}

TEST(RefusalLabels, AreStableMetricLabels) {
  std::vector<std::string> labels;
  for (Refusal r : kAllRefusals) labels.emplace_back(RefusalLabel(r));
  EXPECT_EQ(labels,
            (std::vector<std::string>{"missing", "malformed", "bad_signature", "alg_not_allowed",
                                      "expired", "not_yet_valid", "wrong_issuer", "wrong_audience",
                                      "unknown_kid", "no_key_set"}));
  EXPECT_FALSE(RefusalOf(absl::UnauthenticatedError("x")).has_value());
  EXPECT_FALSE(RefusalOf(absl::OkStatus()).has_value());
}

}  // namespace
}  // namespace kv::auth

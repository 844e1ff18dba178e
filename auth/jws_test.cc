#include "auth/jws.h"

#include <gtest/gtest.h>

#include "auth/base64url.h"
#include "auth/refusal.h"

namespace kv::auth {
namespace {

std::string Token(absl::string_view header, absl::string_view payload = R"({"sub":"x"})",
                  absl::string_view sig = "c2ln") {
  return Base64UrlEncode(header) + "." + Base64UrlEncode(payload) + "." + std::string(sig);
}

std::optional<Refusal> ReasonOf(absl::string_view token) {
  absl::StatusOr<Jws> jws = ParseJws(token);
  return jws.ok() ? std::nullopt : RefusalOf(jws.status());
}

TEST(Jws, SplitsAGoodToken) {
  std::string t = Token(R"({"alg":"ES256","kid":"k1","typ":"JWT"})");
  absl::StatusOr<Jws> jws = ParseJws(t);
  ASSERT_TRUE(jws.ok()) << jws.status();
  EXPECT_EQ(jws->alg, Alg::kES256);
  EXPECT_EQ(jws->kid, "k1");
  EXPECT_EQ(jws->signature, "sig");
  EXPECT_EQ(jws->signing_input, t.substr(0, t.rfind('.')));
}

TEST(Jws, SegmentCounts) {
  std::string t = Token(R"({"alg":"HS256"})");
  EXPECT_EQ(ReasonOf(t + ".x"), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(t + ".x.y"), Refusal::kMalformed);  // JWE shape
  EXPECT_NE(ParseJws(t + ".x.y").status().message().find("JWE"), std::string::npos);
  EXPECT_EQ(ReasonOf(t.substr(0, t.rfind('.'))), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(t.substr(0, t.rfind('.') + 1)), Refusal::kMalformed);  // empty signature
  EXPECT_EQ(ReasonOf(Token(R"({"alg":"none"})", "{}", "")), Refusal::kAlgNotAllowed);
  EXPECT_EQ(ReasonOf(".."), Refusal::kMalformed);
}

TEST(Jws, AlgMustBeOneOfFourExactly) {
  for (const char* alg :
       {"none", "None", "NONE", "nOnE", "hs256", "RS384", "PS256", "ES512", "Ed25519", ""}) {
    EXPECT_EQ(ReasonOf(Token(std::string(R"({"alg":")") + alg + "\"}")), Refusal::kAlgNotAllowed)
        << alg;
  }
  EXPECT_EQ(ReasonOf(Token(R"({"typ":"JWT"})")), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(Token(R"({"alg":null})")), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(Token(R"({"alg":["HS256"]})")), Refusal::kMalformed);
}

TEST(Jws, HeaderRules) {
  EXPECT_EQ(ReasonOf(Token(R"({"alg":"HS256","crit":["exp"]})")), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(Token(R"({"alg":"HS256","b64":false})")), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(Token(R"({"alg":"HS256","enc":"A128GCM"})")), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(Token(R"({"alg":"HS256","typ":"JWE"})")), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(Token(R"({"alg":"HS256","kid":7})")), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(Token(R"({"alg":"HS256","kid":""})")), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(Token(R"({"alg":"HS256","alg":"RS256"})")), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(Token(R"(["alg","HS256"])")), Refusal::kMalformed);
  EXPECT_FALSE(ReasonOf(Token(R"({"alg":"HS256","typ":"at+jwt"})")).has_value());
}

TEST(Jws, Base64Strictness) {
  std::string t = Token(R"({"alg":"HS256"})");
  EXPECT_EQ(ReasonOf(t + "="), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(t + "+"), Refusal::kMalformed);
  EXPECT_EQ(ReasonOf(" " + t), Refusal::kMalformed);
  std::string padded =
      Base64UrlEncode(R"({"alg":"HS256"})") + "=." + Base64UrlEncode("{}") + ".c2ln";
  EXPECT_EQ(ReasonOf(padded), Refusal::kMalformed);
}

TEST(Jws, MessagesDoNotEchoTheToken) {
  std::string t = Token(R"({"alg":"none"})", R"({"sub":"secret-subject"})", "c2lnbmF0dXJl");
  absl::Status s = ParseJws(t).status();
  EXPECT_EQ(s.message().find(t), std::string::npos);
  EXPECT_EQ(s.message().find("c2lnbmF0dXJl"), std::string::npos);
}

}  // namespace
}  // namespace kv::auth

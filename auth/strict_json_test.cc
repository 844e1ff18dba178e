#include "auth/strict_json.h"

#include <gtest/gtest.h>

namespace kv::auth {
namespace {

TEST(StrictJson, ParsesObjects) {
  absl::StatusOr<nlohmann::json> j =
      ParseStrictJson(R"({"a":1,"b":[true,null,"x",{"c":2.5}],"d":{"e":"f"}})");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)["b"][3]["c"], 2.5);
  EXPECT_EQ((*j)["d"]["e"], "f");
}

TEST(StrictJson, RefusesDuplicateMembers) {
  EXPECT_FALSE(ParseStrictJson(R"({"sub":"x","sub":"admin"})").ok());
  EXPECT_FALSE(ParseStrictJson(R"({"a":{"k":1,"k":2}})").ok());
  EXPECT_FALSE(ParseStrictJson(R"({"a":[{"k":1,"k":2}]})").ok());
  // The same name in sibling objects is fine.
  EXPECT_TRUE(ParseStrictJson(R"({"a":{"k":1},"b":{"k":2}})").ok());
}

TEST(StrictJson, RefusesDuplicateAfterEscapes) {
  // "\u0073ub" is "sub": the duplicate must be seen after unescaping.
  EXPECT_FALSE(ParseStrictJson(R"({"sub":"x","\u0073ub":"admin"})").ok());
}

TEST(StrictJson, RefusesDeepNesting) {
  std::string deep = "{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_FALSE(ParseStrictJson(deep).ok());
  StrictJsonOptions options;
  options.max_depth = 64;
  EXPECT_TRUE(ParseStrictJson(deep, options).ok());
}

TEST(StrictJson, RefusesTrailingBytesNonObjectsAndBadUtf8) {
  EXPECT_FALSE(ParseStrictJson(R"({"a":1} x)").ok());
  EXPECT_FALSE(ParseStrictJson(R"({"a":1}{"b":2})").ok());
  EXPECT_FALSE(ParseStrictJson("[1,2]").ok());
  EXPECT_FALSE(ParseStrictJson("{\"a\":\"\xff\"}").ok());
  EXPECT_FALSE(ParseStrictJson("").ok());
  EXPECT_FALSE(ParseStrictJson("{\"a\":1,}").ok());
}

TEST(StrictJson, ErrorDoesNotEchoInput) {
  absl::StatusOr<nlohmann::json> j = ParseStrictJson(R"({"secret-value-123": )");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().message().find("secret-value-123"), absl::string_view::npos);
}

}  // namespace
}  // namespace kv::auth

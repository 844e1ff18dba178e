#include "server/http/url.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kv::server {
namespace {

using ::testing::HasSubstr;

std::string Decode(absl::string_view in, bool plus_is_space = false) {
  std::string out;
  absl::Status s = PercentDecode(in, &out, plus_is_space);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST(UrlTest, PercentDecode) {
  EXPECT_EQ(Decode("plain-key_1.~"), "plain-key_1.~");
  EXPECT_EQ(Decode("a%2Fb"), "a/b");
  EXPECT_EQ(Decode("a%2fb"), "a/b");
  EXPECT_EQ(Decode("a/b/c"), "a/b/c");
  EXPECT_EQ(Decode("%00%FF"), std::string("\0\xff", 2));
  EXPECT_EQ(Decode("a+b"), "a+b");
  EXPECT_EQ(Decode("a+b", true), "a b");
  EXPECT_EQ(Decode("%25"), "%");
  EXPECT_EQ(Decode(""), "");
}

TEST(UrlTest, PercentDecodeRejectsMalformedEscapes) {
  for (absl::string_view bad : {"%", "a%", "a%2", "%zz", "%2g", "ok%G0"}) {
    std::string out;
    absl::Status s = PercentDecode(bad, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("malformed percent-escape at offset")) << bad;
  }
  std::string out;
  EXPECT_THAT(PercentDecode("abc%4", &out).message(), HasSubstr("offset 3"));
}

TEST(UrlTest, PercentEncodeRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string encoded = PercentEncode(all);
  EXPECT_EQ(encoded.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%"),
            std::string::npos);
  EXPECT_EQ(Decode(encoded), all);
  EXPECT_EQ(PercentEncode("a b/c"), "a%20b%2Fc");
}

TEST(UrlTest, ParseQuery) {
  std::vector<QueryParam> params;
  ASSERT_TRUE(ParseQuery("a=1&&b=x%20y+z&flag&c=", &params).ok());
  ASSERT_EQ(params.size(), 4u);
  EXPECT_EQ(params[0].name, "a");
  EXPECT_EQ(params[0].value, "1");
  EXPECT_EQ(params[1].value, "x y z");
  EXPECT_EQ(params[2].name, "flag");
  EXPECT_FALSE(params[2].has_value);
  EXPECT_EQ(params[3].name, "c");
  EXPECT_TRUE(params[3].has_value);
  EXPECT_EQ(params[3].value, "");

  params.clear();
  absl::Status s = ParseQuery("ok=1&min_version=%zz", &params);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'min_version'"));
}

}  // namespace
}  // namespace kv::server

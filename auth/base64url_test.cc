#include "auth/base64url.h"

#include <gtest/gtest.h>

namespace kv::auth {
namespace {

TEST(Base64Url, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    absl::StatusOr<std::string> back = Base64UrlDecode(Base64UrlEncode(bytes));
    ASSERT_TRUE(back.ok()) << i;
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<char>(i * 37 + 250));
  }
}

TEST(Base64Url, KnownVectors) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(*Base64UrlDecode("-_8"), "\xfb\xff");
}

TEST(Base64Url, RefusesPaddingStandardAlphabetAndWhitespace) {
  EXPECT_FALSE(Base64UrlDecode("Zg==").ok());
  EXPECT_FALSE(Base64UrlDecode("+/8").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm 9v").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9v\n").ok());
  EXPECT_FALSE(Base64UrlDecode(absl::string_view("Zm\0v", 4)).ok());
}

TEST(Base64Url, RefusesImpossibleLength) { EXPECT_FALSE(Base64UrlDecode("Zm9vY").ok()); }

TEST(Base64Url, RefusesNonCanonicalTrailingBits) {
  // "Zg" is canonical for "f"; "Zh" carries the same byte with non-zero unused bits.
  EXPECT_TRUE(Base64UrlDecode("Zg").ok());
  EXPECT_FALSE(Base64UrlDecode("Zh").ok());
  EXPECT_TRUE(Base64UrlDecode("Zm8").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9").ok());
}

TEST(Base64Url, AlphabetCheck) {
  EXPECT_TRUE(IsBase64UrlAlphabet("abcXYZ019-_"));
  EXPECT_FALSE(IsBase64UrlAlphabet("ab="));
  EXPECT_FALSE(IsBase64UrlAlphabet("a.b"));
}

}  // namespace
}  // namespace kv::auth

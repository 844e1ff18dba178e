#include "common/units.h"

#include <gtest/gtest.h>

namespace kv {
namespace {

TEST(ParseDurationFlag, AcceptsUnitsAndBareSeconds) {
  EXPECT_EQ(*ParseDurationFlag("30s"), absl::Seconds(30));
  EXPECT_EQ(*ParseDurationFlag("100ms"), absl::Milliseconds(100));
  EXPECT_EQ(*ParseDurationFlag("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDurationFlag("45"), absl::Seconds(45));
  EXPECT_EQ(*ParseDurationFlag("0.5"), absl::Milliseconds(500));
}

TEST(ParseDurationFlag, RejectsGarbageAndNegatives) {
  EXPECT_FALSE(ParseDurationFlag("").ok());
  EXPECT_FALSE(ParseDurationFlag("soon").ok());
  EXPECT_FALSE(ParseDurationFlag("-5s").ok());
  EXPECT_FALSE(ParseDurationFlag("-1").ok());
}

TEST(ParseByteSize, BinaryAndDecimalUnits) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("64KiB"), 64u * 1024);
  EXPECT_EQ(*ParseByteSize("256MiB"), 256ull << 20);
  EXPECT_EQ(*ParseByteSize("25 MiB"), 25ull << 20);
  EXPECT_EQ(*ParseByteSize("1gib"), 1ull << 30);
  EXPECT_EQ(*ParseByteSize("2MB"), 2000000u);
  EXPECT_EQ(*ParseByteSize("1.5k"), 1536u);
}

TEST(ParseByteSize, RejectsUnknownUnits) {
  EXPECT_FALSE(ParseByteSize("12 parsecs").ok());
  EXPECT_FALSE(ParseByteSize("MiB").ok());
  EXPECT_FALSE(ParseByteSize("").ok());
}

TEST(FormatByteSize, PicksTheLargestUnit) {
  EXPECT_EQ(FormatByteSize(512), "512 B");
  EXPECT_EQ(FormatByteSize(25ull << 20), "25 MiB");
  EXPECT_EQ(FormatByteSize(1536), "1.5 KiB");
}

}  // namespace
}  // namespace kv

#include "client/kvctl/ranges.h"

#include <gtest/gtest.h>

namespace kv::kvctl {
namespace {

TEST(RangesTest, JoinsConsecutiveRuns) {
  EXPECT_EQ(FormatRanges({}), "");
  EXPECT_EQ(FormatRanges({7}), "7");
  EXPECT_EQ(FormatRanges({1, 2}), "1-2");
  EXPECT_EQ(FormatRanges({1, 2, 3, 5, 7, 8}), "1-3,5,7-8");
  EXPECT_EQ(FormatRanges({1, 3, 5}), "1,3,5");
}

TEST(RangesTest, SortsAndDropsDuplicates) {
  EXPECT_EQ(FormatRanges({8, 3, 1, 2, 7, 2, 5}), "1-3,5,7-8");
}

TEST(RangesTest, LargeRun) {
  std::vector<int64_t> v;
  for (int64_t i = 1; i <= 1000; ++i) {
    if (i != 500) v.push_back(i);
  }
  EXPECT_EQ(FormatRanges(v), "1-499,501-1000");
}

}  // namespace
}  // namespace kv::kvctl

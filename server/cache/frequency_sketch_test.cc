#include "server/cache/frequency_sketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "server/cache/key_hash.h"

namespace kv::server::cache {
namespace {

uint64_t H(int i) { return HashKey("key-" + std::to_string(i)); }

FrequencySketch::Options Opts(size_t expected, bool doorkeeper = false) {
  FrequencySketch::Options o;
  o.expected_entries = expected;
  o.doorkeeper = doorkeeper;
  return o;
}

TEST(FrequencySketch, CountsUpToFifteenAndSaturates) {
  FrequencySketch s(Opts(4096));
  for (int k = 0; k < 15; ++k) {
    EXPECT_EQ(s.Estimate(H(1)), k);
    s.Increment(H(1));
  }
  EXPECT_EQ(s.Estimate(H(1)), 15);
  for (int k = 0; k < 100; ++k) s.Increment(H(1));
  EXPECT_EQ(s.Estimate(H(1)), FrequencySketch::kMaxCount);
  // Saturation does not spill into neighbouring 4-bit counters.
  EXPECT_EQ(s.Estimate(H(2)), 0);
}

TEST(FrequencySketch, DistinguishesKeys) {
  FrequencySketch s(Opts(4096));
  for (int i = 0; i < 1000; ++i) {
    for (int k = 0; k < i % 8; ++k) s.Increment(H(i));
  }
  int exact = 0;
  for (int i = 0; i < 1000; ++i) {
    const int e = s.Estimate(H(i));
    EXPECT_GE(e, i % 8) << "count-min never under-estimates";
    exact += (e == i % 8);
  }
  EXPECT_GE(exact, 990);
  int unseen_total = 0;
  for (int i = 1000; i < 2000; ++i) unseen_total += s.Estimate(H(i));
  EXPECT_LE(unseen_total, 20);
}

TEST(FrequencySketch, ResetHalvesCounters) {
  FrequencySketch s(Opts(4096));
  for (int k = 0; k < 15; ++k) s.Increment(H(1));
  for (int k = 0; k < 6; ++k) s.Increment(H(2));
  s.Increment(H(3));
  s.Reset();
  EXPECT_EQ(s.Estimate(H(1)), 7);
  EXPECT_EQ(s.Estimate(H(2)), 3);
  EXPECT_EQ(s.Estimate(H(3)), 0);
  s.Reset();
  EXPECT_EQ(s.Estimate(H(1)), 3);
}

TEST(FrequencySketch, AgesAutomaticallyAfterSampleSize) {
  FrequencySketch s(Opts(64));
  ASSERT_EQ(s.sample_size(), 640u);
  for (int k = 0; k < 15; ++k) s.Increment(H(1));
  // Other traffic up to the sample size triggers exactly one halving.
  for (size_t i = 15; i < s.sample_size() - 1; ++i) s.Increment(H(100000 + static_cast<int>(i)));
  EXPECT_EQ(s.resets(), 0u);
  EXPECT_EQ(s.Estimate(H(1)), 15);
  s.Increment(H(2));
  EXPECT_EQ(s.resets(), 1u);
  EXPECT_EQ(s.Estimate(H(1)), 7);
  EXPECT_EQ(s.additions(), s.sample_size() / 2);
}

TEST(FrequencySketch, DoorkeeperAbsorbsFirstAccess) {
  FrequencySketch s(Opts(1024, /*doorkeeper=*/true));
  EXPECT_EQ(s.Estimate(H(1)), 0);
  s.Increment(H(1));
  EXPECT_EQ(s.Estimate(H(1)), 1);  // the doorkeeper bit
  s.Increment(H(1));
  EXPECT_EQ(s.Estimate(H(1)), 2);
  for (int k = 0; k < 40; ++k) s.Increment(H(1));
  EXPECT_EQ(s.Estimate(H(1)), 16);
  s.Reset();  // clears the doorkeeper, halves the counters
  EXPECT_EQ(s.Estimate(H(1)), 7);
}

TEST(FrequencySketch, GrowsOnDemandAndReportsHeap) {
  FrequencySketch s(Opts(100));
  const size_t small = s.HeapBytes();
  EXPECT_GE(small, 128 * sizeof(uint64_t));
  s.Increment(H(1));
  s.EnsureCapacity(50);  // smaller: no change
  EXPECT_EQ(s.Estimate(H(1)), 1);
  s.EnsureCapacity(10000);
  EXPECT_EQ(s.expected_entries(), 10000u);
  EXPECT_GT(s.HeapBytes(), 16 * small);
  EXPECT_EQ(s.sample_size(), 100000u);
}

TEST(FrequencySketch, GrowingKeepsEveryCount) {
  for (bool doorkeeper : {false, true}) {
    FrequencySketch s(Opts(64, doorkeeper));
    std::vector<int> before;
    for (uint64_t k = 0; k < 200; ++k) {
      for (uint64_t n = 0; n < k % 7; ++n) s.Increment(H(k));
    }
    for (uint64_t k = 0; k < 1000; ++k) before.push_back(s.Estimate(H(k)));
    const size_t additions = s.additions();
    s.EnsureCapacity(65);    // one more word than 64: the table doubles
    s.EnsureCapacity(5000);  // and then grows 64x at once
    EXPECT_EQ(s.additions(), additions);
    EXPECT_EQ(s.sample_size(), 50000u);
    for (uint64_t k = 0; k < 1000; ++k) {
      ASSERT_EQ(s.Estimate(H(k)), before[k]) << "key " << k << " doorkeeper " << doorkeeper;
    }
    // New increments land in the grown table: one key's count rises by one.
    s.Increment(H(3));
    EXPECT_EQ(s.Estimate(H(3)), std::min(before[3] + 1, doorkeeper ? 16 : 15));
  }
}

}  // namespace
}  // namespace kv::server::cache

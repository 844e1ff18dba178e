#include "bench/kvbench/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace kv::kvbench {
namespace {

// The exact value at quantile q of sorted `v`, with the same rank rule as the histogram.
uint64_t ExactQuantile(const std::vector<uint64_t>& v, double q) {
  uint64_t rank = std::max<uint64_t>(1, std::ceil(q * v.size() - 1e-9));
  return v[rank - 1];
}

TEST(HistogramTest, EmptyReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h(7);
  for (uint64_t v = 0; v < 256; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 256u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 255u);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 127u);
  EXPECT_EQ(h.ValueAtQuantile(1.0), 255u);
  EXPECT_DOUBLE_EQ(h.mean(), 127.5);
}

TEST(HistogramTest, BucketsTileTheRangeWithoutGapsAndBoundedWidth) {
  Histogram h(7);
  const size_t last = h.BucketIndex(UINT64_MAX);
  EXPECT_EQ(h.BucketLowest(0), 0u);
  for (size_t i = 1; i <= last; ++i) {
    ASSERT_EQ(h.BucketLowest(i), h.BucketHighest(i - 1) + 1) << i;
    const uint64_t lo = h.BucketLowest(i), hi = h.BucketHighest(i);
    ASSERT_EQ(h.BucketIndex(lo), i);
    ASSERT_EQ(h.BucketIndex(hi), i);
    ASSERT_LE(static_cast<double>(hi - lo), lo * h.relative_error()) << i;
  }
  EXPECT_EQ(h.BucketHighest(last), UINT64_MAX);
}

TEST(HistogramTest, QuantilesAreWithinTheRelativeErrorOfExactOnes) {
  for (int bits : {3, 7, 10}) {
    Histogram h(bits);
    std::mt19937_64 rng(42 + bits);
    // Log-normal latencies around 200 us, in nanoseconds, with a long tail.
    std::lognormal_distribution<double> dist(std::log(200'000.0), 1.2);
    std::vector<uint64_t> values;
    for (int i = 0; i < 200'000; ++i) {
      uint64_t v = static_cast<uint64_t>(dist(rng));
      values.push_back(v);
      h.Record(v);
    }
    std::sort(values.begin(), values.end());
    for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
      const double exact = ExactQuantile(values, q);
      const double got = h.ValueAtQuantile(q);
      EXPECT_GE(got, exact) << "bits " << bits << " q " << q;
      EXPECT_LE(got, exact * (1 + h.relative_error())) << "bits " << bits << " q " << q;
    }
    EXPECT_EQ(h.max(), values.back());
    EXPECT_EQ(h.min(), values.front());
  }
}

TEST(HistogramTest, PercentilesAreOrdered) {
  Histogram h;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 10'000; ++i) h.Record(rng() % 5'000'000);
  uint64_t prev = 0;
  for (double q : {0.5, 0.9, 0.99, 0.999, 1.0}) {
    EXPECT_GE(h.ValueAtQuantile(q), prev);
    prev = h.ValueAtQuantile(q);
  }
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
  Histogram a, b, all;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 5000; ++i) {
    uint64_t v = rng() % 10'000'000;
    (i % 3 == 0 ? a : b).Record(v);
    all.Record(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double q : {0.01, 0.5, 0.99, 0.999}) EXPECT_EQ(a.ValueAtQuantile(q), all.ValueAtQuantile(q));
  Histogram empty;
  a.Merge(empty);
  EXPECT_EQ(a.count(), all.count());
  empty.Merge(all);
  EXPECT_EQ(empty.ValueAtQuantile(0.5), all.ValueAtQuantile(0.5));
}

TEST(HistogramTest, HugeValuesAndCountsAndClear) {
  Histogram h;
  h.Record(UINT64_MAX);
  h.RecordN(1000, 999);
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.ValueAtQuantile(0.5), h.BucketHighest(h.BucketIndex(1000)));
  EXPECT_EQ(h.ValueAtQuantile(0.999), h.BucketHighest(h.BucketIndex(1000)));
  EXPECT_EQ(h.ValueAtQuantile(1.0), UINT64_MAX);
  h.Clear();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.ValueAtQuantile(0.99), 0u);
  h.Record(5);
  EXPECT_EQ(h.min(), 5u);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 5u);
}

TEST(HistogramTest, QuantileIsClampedToObservedRange) {
  Histogram h(2);  // coarse buckets: 1000 falls in [896, 1023]
  h.Record(1000);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 1000u);
  EXPECT_EQ(h.ValueAtQuantile(0.0), 1000u);
}

}  // namespace
}  // namespace kv::kvbench

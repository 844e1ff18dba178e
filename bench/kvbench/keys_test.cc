// KeySpace: how kvbench names its keys and spreads the sampler's Zipf ranks over them. (The
// sampler itself is tested in bench/common/zipf_test.cc.)
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "bench/common/zipf.h"
#include "bench/kvbench/keys.h"

namespace kv::kvbench {
namespace {

TEST(KeySpaceTest, FormatsFixedWidthKeys) {
  KeySpaceOptions options;
  options.keys = 1000;
  options.prefix = "p/";
  KeySpace space(options);
  EXPECT_EQ(space.Key(0), "p/000");
  EXPECT_EQ(space.Key(42), "p/042");
  EXPECT_EQ(space.Key(999), "p/999");
}

TEST(KeySpaceTest, RankMappingIsABijection) {
  for (uint64_t n : {1ull, 2ull, 10ull, 1000ull, 100'000ull, 65'536ull}) {
    KeySpaceOptions options;
    options.keys = n;
    KeySpace space(options);
    std::set<uint64_t> seen;
    for (uint64_t r = 1; r <= n; ++r) seen.insert(space.RankToIndex(r));
    EXPECT_EQ(seen.size(), n);
    EXPECT_EQ(*seen.rbegin(), n - 1);
  }
}

TEST(KeySpaceTest, UniformCoversKeysEvenly) {
  KeySpaceOptions options;
  options.keys = 10;
  KeySpace space(options);
  std::mt19937_64 rng(5);
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 100'000; ++i) ++counts[space.Choose(rng)];
  for (int c : counts) EXPECT_NEAR(c, 10'000, 600);
}

TEST(KeySpaceTest, ZipfHotKeyIsRankOne) {
  KeySpaceOptions options;
  options.keys = 1000;
  options.distribution = Distribution::kZipf;
  options.zipf_s = 1.2;
  KeySpace space(options);
  std::mt19937_64 rng(6);
  std::vector<int> counts(1000, 0);
  for (int i = 0; i < 100'000; ++i) ++counts[space.Choose(rng)];
  const uint64_t hottest = std::max_element(counts.begin(), counts.end()) - counts.begin();
  EXPECT_EQ(hottest, space.RankToIndex(1));
  EXPECT_NEAR(counts[hottest] / 100'000.0, bench::ZipfProbabilities(1000, 1.2)[1], 0.01);
}

}  // namespace
}  // namespace kv::kvbench

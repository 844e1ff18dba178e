#include "bench/kvbench/zipf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "bench/kvbench/keys.h"

namespace kv::kvbench {
namespace {

// Draws `samples` ranks and compares the empirical distribution with the exact one: total
// variation distance, the mass of rank 1, and a chi-squared statistic over all ranks.
void CheckMatchesExact(uint64_t n, double s, int samples, uint64_t seed) {
  ZipfSampler zipf(n, s);
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> counts(n + 1, 0);
  for (int i = 0; i < samples; ++i) {
    uint64_t k = zipf.Sample(rng);
    ASSERT_GE(k, 1u);
    ASSERT_LE(k, n);
    ++counts[k];
  }
  double norm = 0;
  for (uint64_t k = 1; k <= n; ++k) norm += std::pow(static_cast<double>(k), -s);
  // Sampling noise alone gives an expected total variation distance of
  // 1/2 sum_k sqrt(2 p_k (1 - p_k) / (pi N)); allow 1.5x that.
  double tv = 0, tv_noise = 0, chi2 = 0;
  for (uint64_t k = 1; k <= n; ++k) {
    const double p = std::pow(static_cast<double>(k), -s) / norm;
    const double expected = p * samples;
    tv += std::abs(static_cast<double>(counts[k]) / samples - p);
    tv_noise += std::sqrt(2 * p * (1 - p) / (M_PI * samples));
    chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
  }
  tv /= 2;
  tv_noise /= 2;
  EXPECT_LT(tv, 1.5 * tv_noise + 0.001) << "n " << n << " s " << s;
  // n - 1 degrees of freedom: mean n - 1, sd sqrt(2(n - 1)); 6 sd is a generous bound that a
  // wrong sampler (off by one rank, wrong exponent) exceeds by far.
  const double dof = static_cast<double>(n - 1);
  EXPECT_LT(chi2, dof + 6 * std::sqrt(2 * dof)) << "n " << n << " s " << s;
  const double p1 = 1.0 / norm;
  EXPECT_NEAR(static_cast<double>(counts[1]) / samples, p1, 0.005) << "n " << n << " s " << s;
}

TEST(ZipfSamplerTest, MatchesTheExactDistribution) {
  CheckMatchesExact(100, 0.99, 1'000'000, 1);
  CheckMatchesExact(100, 1.0, 1'000'000, 2);
  CheckMatchesExact(1000, 0.5, 1'000'000, 3);
  CheckMatchesExact(50, 1.5, 1'000'000, 4);
  CheckMatchesExact(10, 3.0, 200'000, 5);
}

TEST(ZipfSamplerTest, ProbabilityHelperAgreesWithTheFormula) {
  EXPECT_NEAR(ZipfSampler::Probability(2, 1.0, 1), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(ZipfSampler::Probability(2, 1.0, 2), 1.0 / 3.0, 1e-12);
}

TEST(ZipfSamplerTest, SingleRankAndHugeKeySpaces) {
  std::mt19937_64 rng(9);
  ZipfSampler one(1, 0.99);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(one.Sample(rng), 1u);
  ZipfSampler huge(1'000'000'000'000ull, 0.99);
  uint64_t ones = 0;
  for (int i = 0; i < 100'000; ++i) {
    uint64_t k = huge.Sample(rng);
    ASSERT_GE(k, 1u);
    ASSERT_LE(k, huge.n());
    ones += k == 1;
  }
  EXPECT_GT(ones, 0u);  // rank 1 still has mass ~ 1/H(n) ~ 3.5%
}

TEST(ZipfSamplerTest, SameSeedSameSequence) {
  ZipfSampler zipf(100'000, 0.99);
  std::mt19937_64 a(77), b(77), c(78);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    uint64_t x = zipf.Sample(a);
    ASSERT_EQ(x, zipf.Sample(b));
    differs |= x != zipf.Sample(c);
  }
  EXPECT_TRUE(differs);
}

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
  EXPECT_NEAR(counts[hottest] / 100'000.0, ZipfSampler::Probability(1000, 1.2, 1), 0.01);
}

}  // namespace
}  // namespace kv::kvbench

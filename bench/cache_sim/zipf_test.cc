#include "bench/cache_sim/zipf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace kv::bench {
namespace {

// Pearson's chi-square of `samples` draws over all n ranks against the exact distribution.
double ChiSquare(uint64_t n, double s, int samples, uint64_t seed) {
  ZipfSampler zipf(n, s);
  std::mt19937_64 rng(seed);
  auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  std::vector<int> counts(n + 1, 0);
  for (int i = 0; i < samples; ++i) {
    const uint64_t k = zipf.Sample(uniform);
    EXPECT_GE(k, 1u);
    EXPECT_LE(k, n);
    ++counts[k];
  }
  const std::vector<double> p = ZipfProbabilities(n, s);
  double chi2 = 0;
  for (uint64_t k = 1; k <= n; ++k) {
    const double expected = samples * p[k];
    chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
  }
  return chi2;
}

// With 999 degrees of freedom chi-square has mean 999 and sd ~44.7: a wrong sampler (even a
// slightly wrong exponent) lands far above; 1300 is ~6.7 sd.
TEST(ZipfSampler, MatchesExactDistribution) {
  for (double s : {0.0, 0.5, 0.9, 0.99, 1.0, 1.01, 1.5, 2.5}) {
    EXPECT_LT(ChiSquare(1000, s, 400000, 7), 1300) << "s=" << s;
  }
}

TEST(ZipfSampler, DetectsAWrongExponent) {
  // The same test against a neighbouring exponent must fail, or it proves nothing.
  ZipfSampler zipf(1000, 0.99);
  std::mt19937_64 rng(7);
  auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  std::vector<int> counts(1001, 0);
  for (int i = 0; i < 400000; ++i) ++counts[zipf.Sample(uniform)];
  const std::vector<double> p = ZipfProbabilities(1000, 0.95);
  double chi2 = 0;
  for (uint64_t k = 1; k <= 1000; ++k) {
    const double expected = 400000 * p[k];
    chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
  }
  EXPECT_GT(chi2, 2000);
}

TEST(ZipfSampler, LargeKeySpaceTopMass) {
  const uint64_t n = 1000000;
  ZipfSampler zipf(n, 0.99);
  std::mt19937_64 rng(1);
  auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  const int samples = 2000000;
  int top = 0, first = 0;
  for (int i = 0; i < samples; ++i) {
    const uint64_t k = zipf.Sample(uniform);
    top += (k <= 10000);
    first += (k == 1);
  }
  const double mass = ZipfTopMass(n, 0.99, 10000);
  EXPECT_NEAR(static_cast<double>(top) / samples, mass, 5 * std::sqrt(mass * (1 - mass) / samples));
  const double p1 = ZipfProbabilities(n, 0.99)[1];
  EXPECT_NEAR(static_cast<double>(first) / samples, p1, 5 * std::sqrt(p1 * (1 - p1) / samples));
  EXPECT_NEAR(ZipfTopMass(n, 0.99, n), 1.0, 1e-12);
}

}  // namespace
}  // namespace kv::bench

#pragma once
// Zipf-distributed ranks: P(k) = k^-s / sum_{i=1..n} i^-s for k in 1..n, s > 0.
//
// Sampled by rejection-inversion (Hormann & Derflinger, ACM TOMACS 6(3), 1996): draw a point
// uniformly under a continuous hat that dominates k^-s, invert the hat's integral, round to the
// nearest rank, and accept with the exact mass. Expected < 1.1 draws per sample for any n and s;
// no tables, so 10^9 keys cost nothing. The sampler is const and can be shared by threads; each
// thread brings its own seeded generator.

#include <cstdint>
#include <random>

namespace kv::kvbench {

class ZipfSampler {
 public:
  // Ranks 1..n (n >= 1), exponent s > 0 (s = 1 is the classic Zipf; YCSB uses 0.99).
  ZipfSampler(uint64_t n, double s);

  // A rank in 1..n; rank 1 is the most frequent.
  uint64_t Sample(std::mt19937_64& rng) const;

  uint64_t n() const { return n_; }
  double s() const { return s_; }

  // The exact probability of rank k (sums the normaliser: O(n), for tests and reports).
  static double Probability(uint64_t n, double s, uint64_t k);

 private:
  // h(x) = x^-s, the unnormalised mass.
  double H(double x) const;
  // Integral of h from 1 to x, and its inverse.
  double HIntegral(double x) const;
  double HIntegralInverse(double y) const;

  const uint64_t n_;
  const double s_;
  const double h_integral_x1_;  // HIntegral(1.5) - 1: left end of rank 1's region
  const double h_integral_n_;   // HIntegral(n + 0.5): right end of rank n's region
  const double squeeze_;        // accept without evaluating h when x is this close to k
};

// Uniform double in [0, 1) with 53 random bits.
inline double Uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

}  // namespace kv::kvbench

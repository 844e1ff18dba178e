#pragma once
// Zipf-distributed ranks, shared by the benchmark tools (kvbench picks keys with it, cache_sim
// builds its traces with it): P(k) = k^-s / H(n, s) for k in 1..n, H(n, s) = sum_{i=1..n} i^-s.
//
// Sampled by rejection-inversion (W. Hormann, G. Derflinger, "Rejection-inversion to generate
// variates from monotone discrete distributions", ACM TOMACS 6(3), 1996): draw a point uniformly
// under a continuous hat that dominates k^-s, invert the hat's integral, round to the nearest
// rank, and accept with the exact mass. A squeeze accepts most draws without evaluating k^-s.
// Expected < 1.1 uniform draws per sample for any n and s; no tables, so 10^12 keys cost nothing.
//
// Deterministic: a sample depends only on the state of the std::mt19937_64 passed in (whose
// sequence the standard fixes) and on libm's log/exp/log1p/expm1; no std::*_distribution, whose
// output differs between standard libraries. The sampler is const and can be shared by threads;
// each thread brings its own seeded generator.

#include <cstdint>
#include <random>
#include <vector>

namespace kv::bench {

class ZipfSampler {
 public:
  // Ranks 1..n (n >= 1; 0 is taken as 1), exponent s >= 0 (s = 0 is uniform, s = 1 the
  // classic Zipf; YCSB uses 0.99).
  ZipfSampler(uint64_t n, double s);

  // A rank in 1..n; rank 1 is the most frequent. Consumes one or (rarely) more values of `rng`.
  uint64_t Sample(std::mt19937_64& rng) const;

  uint64_t n() const { return n_; }
  double s() const { return s_; }

 private:
  // h(x) = x^-s, the unnormalised mass.
  double H(double x) const;
  // Integral of h from 1 to x, (x^(1-s) - 1) / (1 - s) (log x at s = 1), and its inverse.
  double HIntegral(double x) const;
  double HIntegralInverse(double y) const;

  const uint64_t n_;
  const double s_;
  const double h_integral_x1_;  // HIntegral(1.5) - 1: left end of rank 1's region
  const double h_integral_n_;   // HIntegral(n + 0.5): right end of rank n's region
  const double squeeze_;        // accept without evaluating h when x is this close to k
};

// P(rank == k) at index k for k in 1..n (index 0 is unused, 0.0). O(n): for tests and reports.
std::vector<double> ZipfProbabilities(uint64_t n, double s);

// The probability mass of ranks 1..top under Zipf(n, s): the hit ratio of an ideal static cache
// holding the `top` most popular keys. O(n).
double ZipfTopMass(uint64_t n, double s, uint64_t top);

// Uniform double in [0, 1) from the top 53 bits of one draw.
inline double Uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

}  // namespace kv::bench

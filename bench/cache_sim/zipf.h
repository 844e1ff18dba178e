#pragma once
// Zipf-distributed ranks for trace simulation: P(k) = k^-s / H(n, s) for k in 1..n.
//
// Sampling is by rejection-inversion (W. Hormann, G. Derflinger, "Rejection-inversion to
// generate variates from monotone discrete distributions", ACM TOMACS 1996): invert the
// integral of x^-s continuously, round to the nearest rank k, and accept with the ratio of
// k^-s to the area under the curve around k. O(1) per sample for any n, no tables.

#include <cstdint>
#include <vector>

namespace kv::bench {

class ZipfSampler {
 public:
  // Ranks 1..n (n >= 1) with exponent s >= 0 (s = 0 is uniform).
  ZipfSampler(uint64_t n, double s);

  // `uniform01` must return doubles uniform in [0, 1).
  template <typename Uniform01>
  uint64_t Sample(Uniform01&& uniform01) const {
    while (true) {
      const double u = h_integral_n_ + uniform01() * (h_integral_x1_ - h_integral_n_);
      const double x = HIntegralInverse(u);
      uint64_t k = static_cast<uint64_t>(x + 0.5);
      if (k < 1) k = 1;
      if (k > n_) k = n_;
      if (u >= HIntegral(static_cast<double>(k) + 0.5) - H(static_cast<double>(k))) return k;
    }
  }

  uint64_t n() const { return n_; }
  double s() const { return s_; }

 private:
  // x^-s, the unnormalised mass at x.
  double H(double x) const;
  // Integral of t^-s from 1 to x: (x^(1-s) - 1) / (1 - s), or log x when s = 1.
  double HIntegral(double x) const;
  double HIntegralInverse(double y) const;

  const uint64_t n_;
  const double s_;
  const double h_integral_x1_;  // HIntegral(1.5) - H(1): the left end of rank 1's slice
  const double h_integral_n_;   // HIntegral(n + 0.5)
};

// The probability mass of ranks 1..top under Zipf(n, s): the hit ratio of an ideal static
// cache holding the `top` most popular keys.
double ZipfTopMass(uint64_t n, double s, uint64_t top);

// P(rank == k) at index k, for k in 1..n (index 0 is unused).
std::vector<double> ZipfProbabilities(uint64_t n, double s);

}  // namespace kv::bench

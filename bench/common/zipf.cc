#include "bench/common/zipf.h"

#include <algorithm>
#include <cmath>

namespace kv::bench {
namespace {

// log1p(t) / t and expm1(t) / t, continuous at t = 0 (s near 1 makes t tiny; at s = 1 the
// integral becomes log x and these keep the formulas valid without a special case).
double Log1pRatio(double t) {
  return std::abs(t) > 1e-8 ? std::log1p(t) / t : 1.0 - t * (0.5 - t / 3.0);
}
double Expm1Ratio(double t) {
  return std::abs(t) > 1e-8 ? std::expm1(t) / t : 1.0 + t * (0.5 + t / 6.0);
}

// Sum of k^-s for k = 1..n, smallest terms first, with Kahan compensation.
double HarmonicSum(uint64_t n, double s) {
  double sum = 0, carry = 0;
  for (uint64_t k = n; k >= 1; --k) {
    const double y = std::pow(static_cast<double>(k), -s) - carry;
    const double t = sum + y;
    carry = (t - sum) - y;
    sum = t;
  }
  return sum;
}

}  // namespace

ZipfSampler::ZipfSampler(uint64_t n, double s)
    : n_(std::max<uint64_t>(1, n)),
      s_(s),
      h_integral_x1_(HIntegral(1.5) - 1.0),
      h_integral_n_(HIntegral(static_cast<double>(n_) + 0.5)),
      squeeze_(2.0 - HIntegralInverse(HIntegral(2.5) - H(2.0))) {}

double ZipfSampler::H(double x) const { return std::exp(-s_ * std::log(x)); }

double ZipfSampler::HIntegral(double x) const {
  // (x^(1-s) - 1) / (1 - s), written to stay accurate for s close to 1.
  const double log_x = std::log(x);
  return Expm1Ratio((1.0 - s_) * log_x) * log_x;
}

double ZipfSampler::HIntegralInverse(double y) const {
  double t = y * (1.0 - s_);
  t = std::max(t, -1.0 + 1e-15);  // rounding may step just outside the domain of log1p
  return std::exp(Log1pRatio(t) * y);
}

uint64_t ZipfSampler::Sample(std::mt19937_64& rng) const {
  while (true) {
    // u runs from the right end (rank n) to the left end (rank 1) of the hat's integral.
    const double u = h_integral_n_ + Uniform01(rng) * (h_integral_x1_ - h_integral_n_);
    const double x = HIntegralInverse(u);
    double k = std::floor(x + 0.5);
    k = std::clamp(k, 1.0, static_cast<double>(n_));
    // Accept when the point lies under k's exact mass. Rank k rejects only the left end of its
    // region, and that zone narrows as k grows (the hat fits h better), so x >= k - squeeze_
    // (as far in as rank 2's zone reaches) is accepted without computing h.
    if (k - x <= squeeze_ || u >= HIntegral(k + 0.5) - H(k)) return static_cast<uint64_t>(k);
  }
}

std::vector<double> ZipfProbabilities(uint64_t n, double s) {
  std::vector<double> p(n + 1, 0.0);
  const double total = HarmonicSum(n, s);
  for (uint64_t k = 1; k <= n; ++k) p[k] = std::pow(static_cast<double>(k), -s) / total;
  return p;
}

double ZipfTopMass(uint64_t n, double s, uint64_t top) {
  top = std::min(top, n);
  return HarmonicSum(top, s) / HarmonicSum(n, s);
}

}  // namespace kv::bench

#include "bench/cache_sim/zipf.h"

#include <algorithm>
#include <cmath>

namespace kv::bench {
namespace {

// log1p(t) / t and expm1(t) / t, continuous at t = 0 (s close to 1 makes t tiny).
double Log1pOverT(double t) {
  return std::abs(t) > 1e-8 ? std::log1p(t) / t : 1.0 - t / 2.0 + t * t / 3.0;
}
double Expm1OverT(double t) {
  return std::abs(t) > 1e-8 ? std::expm1(t) / t : 1.0 + t / 2.0 + t * t / 6.0;
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
    : n_(std::max<uint64_t>(n, 1)),
      s_(s),
      h_integral_x1_(HIntegral(1.5) - 1.0),
      h_integral_n_(HIntegral(static_cast<double>(n_) + 0.5)) {}

double ZipfSampler::H(double x) const { return std::exp(-s_ * std::log(x)); }

double ZipfSampler::HIntegral(double x) const {
  const double log_x = std::log(x);
  return Expm1OverT((1.0 - s_) * log_x) * log_x;
}

double ZipfSampler::HIntegralInverse(double y) const {
  // Solve (x^(1-s) - 1) / (1 - s) = y: x = exp(log1p((1 - s) y) / (1 - s)).
  double t = y * (1.0 - s_);
  t = std::max(t, -1.0 + 1e-15);  // rounding can step just outside the domain
  return std::exp(Log1pOverT(t) * y);
}

double ZipfTopMass(uint64_t n, double s, uint64_t top) {
  top = std::min(top, n);
  return HarmonicSum(top, s) / HarmonicSum(n, s);
}

std::vector<double> ZipfProbabilities(uint64_t n, double s) {
  std::vector<double> p(n + 1, 0.0);
  const double total = HarmonicSum(n, s);
  for (uint64_t k = 1; k <= n; ++k) p[k] = std::pow(static_cast<double>(k), -s) / total;
  return p;
}

}  // namespace kv::bench

#include "bench/kvbench/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace kv::kvbench {

Histogram::Histogram(int precision_bits) : precision_bits_(std::clamp(precision_bits, 1, 12)) {}

// Index layout: values v < 2^p sit at index v. Otherwise let shift = bit_width(v) - 1 - p; the
// top p+1 bits of v (the "mantissa", in [2^p, 2^(p+1))) pick the bucket within its power of two:
// index = shift * 2^p + mantissa. Consecutive powers of two therefore follow without gaps.
size_t Histogram::BucketIndex(uint64_t value) const {
  const int width = std::bit_width(value);
  const int shift = std::max(0, width - 1 - precision_bits_);
  return (static_cast<size_t>(shift) << precision_bits_) + (value >> shift);
}

uint64_t Histogram::BucketLowest(size_t index) const {
  const size_t half = size_t{1} << precision_bits_;
  if (index < 2 * half) return index;
  const size_t shift = index / half - 1;
  const uint64_t mantissa = index - shift * half;
  return mantissa << shift;
}

uint64_t Histogram::BucketHighest(size_t index) const {
  const size_t half = size_t{1} << precision_bits_;
  if (index < 2 * half) return index;
  const size_t shift = index / half - 1;
  const uint64_t lowest = BucketLowest(index);
  const uint64_t width = uint64_t{1} << shift;
  // The last bucket ends at UINT64_MAX; avoid wrapping.
  return lowest > UINT64_MAX - (width - 1) ? UINT64_MAX : lowest + (width - 1);
}

void Histogram::RecordN(uint64_t value, uint64_t count) {
  if (count == 0) return;
  const size_t index = BucketIndex(value);
  if (index >= counts_.size()) counts_.resize(index + 1, 0);
  counts_[index] += count;
  count_ += count;
  sum_ += value * count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  if (other.counts_.size() > counts_.size()) counts_.resize(other.counts_.size(), 0);
  for (size_t i = 0; i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::Clear() {
  counts_.clear();
  count_ = 0;
  sum_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

uint64_t Histogram::ValueAtQuantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  if (q >= 1.0) return max_;
  // Rank of the wanted value, 1-based: the smallest value with at least q of all values at or
  // below it.
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_) - 1e-9)));
  // (The epsilon keeps 0.99 * 100 from rounding up to rank 100.)
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(BucketHighest(i), min_, max_);
  }
  return max_;
}

}  // namespace kv::kvbench

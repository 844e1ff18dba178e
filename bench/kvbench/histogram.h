#pragma once
// A log-linear latency histogram in the style of HdrHistogram: values below 2^p are counted
// exactly; above, each power-of-two range is split into 2^p equal buckets, so a bucket is at
// most 2^-p of its lower bound wide. With the default p = 7 a reported percentile is within
// 0.79% of the true value. Count, sum, min and max are exact.
//
// Not thread-safe: keep one per thread (or lock it) and Merge() them for the report.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kv::kvbench {

class Histogram {
 public:
  // `precision_bits` p in 1..12: the relative bucket width is at most 2^-p.
  explicit Histogram(int precision_bits = 7);

  // Counts one value (any uint64; there is no upper limit).
  void Record(uint64_t value) { RecordN(value, 1); }
  void RecordN(uint64_t value, uint64_t count);
  // Adds every count of `other`, which must have the same precision.
  void Merge(const Histogram& other);
  void Clear();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  int precision_bits() const { return precision_bits_; }
  // Largest relative error of a reported percentile: 2^-p.
  double relative_error() const { return 1.0 / (1u << precision_bits_); }

  // The value at quantile q in [0, 1]: the highest value equivalent to the bucket that holds
  // the ceil(q * count)-th smallest value, clamped to [min, max]. q = 1 gives max exactly.
  // 0 when empty.
  uint64_t ValueAtQuantile(double q) const;

  // Bucket arithmetic, public for tests.
  size_t BucketIndex(uint64_t value) const;
  uint64_t BucketLowest(size_t index) const;
  uint64_t BucketHighest(size_t index) const;

 private:
  int precision_bits_;
  // Grows on demand up to the bucket of the largest value seen.
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace kv::kvbench

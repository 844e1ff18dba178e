#pragma once
// The benchmark's key space: key i (0..n-1) is "<prefix><i zero-padded>", and the chooser that
// picks which key an operation touches (uniform, or Zipf with the hot ranks scattered over the
// key space so the hottest keys are not neighbours in RocksDB).

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "bench/common/zipf.h"

namespace kv::kvbench {

enum class Distribution { kUniform, kZipf };

struct KeySpaceOptions {
  // Number of distinct keys.
  uint64_t keys = 100'000;
  // Every key starts with this.
  std::string prefix = "kvbench/";
  Distribution distribution = Distribution::kUniform;
  // Zipf exponent (only for kZipf).
  double zipf_s = 0.99;
};

class KeySpace {
 public:
  explicit KeySpace(const KeySpaceOptions& options);

  uint64_t size() const { return keys_; }
  // The index of the next key to touch.
  uint64_t Choose(std::mt19937_64& rng) const;
  // Writes key `index` into `out` (reusing its capacity).
  void Format(uint64_t index, std::string* out) const;
  std::string Key(uint64_t index) const {
    std::string k;
    Format(index, &k);
    return k;
  }
  // The key index Zipf rank `rank` (1 = hottest) maps to: a bijection of 1..n onto 0..n-1.
  uint64_t RankToIndex(uint64_t rank) const;

 private:
  const uint64_t keys_;
  const std::string prefix_;
  const int width_;        // digits of the largest index
  const uint64_t stride_;  // coprime with keys_: rank r -> (r - 1) * stride_ mod keys_
  std::optional<bench::ZipfSampler> zipf_;
};

}  // namespace kv::kvbench

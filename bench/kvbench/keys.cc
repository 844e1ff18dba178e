#include "bench/kvbench/keys.h"

#include <algorithm>
#include <numeric>

namespace kv::kvbench {
namespace {

int Digits(uint64_t v) {
  int d = 1;
  while (v >= 10) {
    v /= 10;
    ++d;
  }
  return d;
}

// An odd-looking stride near n / golden ratio that is coprime with n, so multiplying by it
// permutes 0..n-1 and sends neighbouring ranks far apart.
uint64_t CoprimeStride(uint64_t n) {
  if (n <= 2) return 1;
  uint64_t s = std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(n) * 0.6180339887));
  while (std::gcd(s, n) != 1) ++s;
  return s % n == 0 ? 1 : s;
}

}  // namespace

KeySpace::KeySpace(const KeySpaceOptions& options)
    : keys_(std::max<uint64_t>(1, options.keys)),
      prefix_(options.prefix),
      width_(Digits(keys_ - 1)),
      stride_(CoprimeStride(keys_)) {
  if (options.distribution == Distribution::kZipf) zipf_.emplace(keys_, options.zipf_s);
}

uint64_t KeySpace::RankToIndex(uint64_t rank) const {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(rank - 1) * stride_) % keys_);
}

uint64_t KeySpace::Choose(std::mt19937_64& rng) const {
  if (zipf_) return RankToIndex(zipf_->Sample(rng));
  // Lemire's multiply-shift: unbiased enough for benchmarks (bias < n / 2^64).
  return static_cast<uint64_t>((static_cast<unsigned __int128>(rng()) * keys_) >> 64);
}

void KeySpace::Format(uint64_t index, std::string* out) const {
  out->assign(prefix_);
  char digits[24];
  int len = 0;
  do {
    digits[len++] = static_cast<char>('0' + index % 10);
    index /= 10;
  } while (index > 0);
  out->append(static_cast<size_t>(std::max(0, width_ - len)), '0');
  while (len > 0) out->push_back(digits[--len]);
}

}  // namespace kv::kvbench

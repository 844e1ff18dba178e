#include "server/cache/frequency_sketch.h"

#include <algorithm>
#include <bit>

#include "server/cache/heap_bytes.h"
#include "server/cache/key_hash.h"

namespace kv::server::cache {
namespace {

// Independent per-row seeds (digits of pi); each row re-mixes the key hash with its own.
constexpr uint64_t kRowSeeds[4] = {0x452821e638d01377ULL, 0xbe5466cf34e90c6cULL,
                                   0xc0ac29b7c97c50ddULL, 0x3f84d5b5b5470917ULL};
constexpr uint64_t kDoorkeeperSeed = 0x9216d5d98979fb1bULL;
constexpr uint64_t kHalfMask = 0x7777777777777777ULL;  // each nibble's low 3 bits

size_t CeilPow2(size_t n) { return std::bit_ceil(std::max<size_t>(n, 1)); }

}  // namespace

FrequencySketch::FrequencySketch(const Options& options) : options_(options) {
  Allocate(options.expected_entries);
}

void FrequencySketch::Allocate(size_t expected_entries) {
  expected_entries_ = std::max<size_t>(expected_entries, 16);
  sample_size_ = options_.sample_factor * expected_entries_;
  additions_ = 0;
  table_.assign(CeilPow2(expected_entries_), 0);
  table_.shrink_to_fit();
  table_mask_ = table_.size() - 1;
  if (options_.doorkeeper) {
    // ~4 bits per access of a sample period: few false positives even if most are distinct.
    const size_t bits = CeilPow2(sample_size_ * 4);
    doorkeeper_.assign(bits / 64, 0);
    doorkeeper_.shrink_to_fit();
    doorkeeper_mask_ = bits - 1;
  }
}

void FrequencySketch::EnsureCapacity(size_t expected_entries) {
  if (expected_entries <= expected_entries_) return;
  expected_entries_ = expected_entries;
  sample_size_ = options_.sample_factor * expected_entries_;
  const size_t words = CeilPow2(expected_entries_);
  if (words > table_.size()) {
    std::vector<uint64_t> grown(words);
    const size_t old_mask = table_.size() - 1;
    for (size_t i = 0; i < words; ++i) grown[i] = table_[i & old_mask];
    table_.swap(grown);
    table_mask_ = words - 1;
  }
  if (options_.doorkeeper) {
    // The same for the Bloom bits (b1 and b2 are masked the same way).
    const size_t bits = CeilPow2(sample_size_ * 4);
    if (bits > doorkeeper_mask_ + 1) {
      std::vector<uint64_t> grown(bits / 64);
      const size_t old_mask = doorkeeper_.size() - 1;
      for (size_t i = 0; i < grown.size(); ++i) grown[i] = doorkeeper_[i & old_mask];
      doorkeeper_.swap(grown);
      doorkeeper_mask_ = bits - 1;
    }
  }
}

void FrequencySketch::Locate(uint64_t hash, int row, size_t* word, int* shift) const {
  const uint64_t x = Mix64(hash + kRowSeeds[row]);
  *word = x & table_mask_;
  *shift = static_cast<int>(x >> 60) * 4;
}

bool FrequencySketch::DoorkeeperContains(uint64_t hash) const {
  const uint64_t x = Mix64(hash ^ kDoorkeeperSeed);
  const uint64_t b1 = x & doorkeeper_mask_, b2 = (x >> 32) & doorkeeper_mask_;
  return (doorkeeper_[b1 / 64] >> (b1 % 64) & 1) && (doorkeeper_[b2 / 64] >> (b2 % 64) & 1);
}

bool FrequencySketch::DoorkeeperTestAndSet(uint64_t hash) {
  const uint64_t x = Mix64(hash ^ kDoorkeeperSeed);
  const uint64_t b1 = x & doorkeeper_mask_, b2 = (x >> 32) & doorkeeper_mask_;
  const bool present =
      (doorkeeper_[b1 / 64] >> (b1 % 64) & 1) && (doorkeeper_[b2 / 64] >> (b2 % 64) & 1);
  doorkeeper_[b1 / 64] |= uint64_t{1} << (b1 % 64);
  doorkeeper_[b2 / 64] |= uint64_t{1} << (b2 % 64);
  return present;
}

void FrequencySketch::Increment(uint64_t hash) {
  if (++additions_ >= sample_size_) Reset();
  if (options_.doorkeeper && !DoorkeeperTestAndSet(hash)) return;

  size_t words[4];
  int shifts[4];
  int counts[4];
  int min = kMaxCount;
  for (int i = 0; i < 4; ++i) {
    Locate(hash, i, &words[i], &shifts[i]);
    counts[i] = static_cast<int>(table_[words[i]] >> shifts[i]) & 0xf;
    min = std::min(min, counts[i]);
  }
  if (min == kMaxCount) return;
  for (int i = 0; i < 4; ++i) {
    if (counts[i] == kMaxCount) continue;
    if (options_.conservative_update && counts[i] != min) continue;
    table_[words[i]] += uint64_t{1} << shifts[i];
  }
}

int FrequencySketch::Estimate(uint64_t hash) const {
  int min = kMaxCount;
  for (int i = 0; i < 4; ++i) {
    size_t word;
    int shift;
    Locate(hash, i, &word, &shift);
    min = std::min(min, static_cast<int>(table_[word] >> shift) & 0xf);
  }
  if (options_.doorkeeper && DoorkeeperContains(hash)) ++min;
  return min;
}

void FrequencySketch::Reset() {
  for (uint64_t& w : table_) w = (w >> 1) & kHalfMask;
  std::fill(doorkeeper_.begin(), doorkeeper_.end(), 0);
  additions_ /= 2;
  ++resets_;
}

void FrequencySketch::Clear() {
  std::fill(table_.begin(), table_.end(), 0);
  std::fill(doorkeeper_.begin(), doorkeeper_.end(), 0);
  additions_ = 0;
}

size_t FrequencySketch::HeapBytes() const {
  return AllocationBytes(table_.data(), table_.size() * sizeof(uint64_t)) +
         AllocationBytes(doorkeeper_.data(), doorkeeper_.size() * sizeof(uint64_t));
}

}  // namespace kv::server::cache

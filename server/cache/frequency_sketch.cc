#include "server/cache/frequency_sketch.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <utility>

#include "server/cache/heap_bytes.h"
#include "server/cache/key_hash.h"

namespace kv::server::cache {
namespace {

// Seeds (digits of pi): one mix of the key hash picks the block, another the counters in it.
constexpr uint64_t kBlockSeed = 0x452821e638d01377ULL;
constexpr uint64_t kCounterSeed = 0xbe5466cf34e90c6cULL;
constexpr uint64_t kDoorkeeperSeed = 0x9216d5d98979fb1bULL;
constexpr uint64_t kHalfMask = 0x7777777777777777ULL;  // each nibble's low 3 bits

size_t CeilPow2(size_t n) { return std::bit_ceil(std::max<size_t>(n, 1)); }

// One word per expected entry, and at least two blocks.
size_t Words(size_t expected_entries) { return std::max<size_t>(CeilPow2(expected_entries), 16); }

}  // namespace

FrequencySketch::FrequencySketch(const Options& options) : options_(options) {
  Allocate(options.expected_entries);
}

void FrequencySketch::Allocate(size_t expected_entries) {
  expected_entries_ = std::max<size_t>(expected_entries, 16);
  sample_size_ = options_.sample_factor * expected_entries_;
  additions_ = 0;
  NewTable(Words(expected_entries_));
  if (options_.doorkeeper) {
    // ~4 bits per access of a sample period: few false positives even if most are distinct.
    const size_t bits = CeilPow2(sample_size_ * 4);
    doorkeeper_.assign(bits / 64, 0);
    doorkeeper_.shrink_to_fit();
    doorkeeper_mask_ = bits - 1;
  }
}

std::vector<uint64_t> FrequencySketch::NewTable(size_t words) {
  std::vector<uint64_t> old = std::move(storage_);
  storage_ = std::vector<uint64_t>(words + kBlockWords - 1, 0);
  const auto address = reinterpret_cast<uintptr_t>(storage_.data());
  const size_t skip = (kBlockBytes - address % kBlockBytes) % kBlockBytes / sizeof(uint64_t);
  table_ = storage_.data() + skip;
  words_ = words;
  block_mask_ = words / kBlockWords - 1;
  return old;
}

void FrequencySketch::EnsureCapacity(size_t expected_entries) {
  if (expected_entries <= expected_entries_) return;
  expected_entries_ = expected_entries;
  sample_size_ = options_.sample_factor * expected_entries_;
  const size_t words = Words(expected_entries_);
  if (words > words_) {
    // Word i of the grown table is word i % 8 of block (i / 8) mod old blocks of the old one.
    const uint64_t* old_table = table_;
    const size_t old_mask = words_ - 1;
    const std::vector<uint64_t> old = NewTable(words);
    for (size_t i = 0; i < words; ++i) table_[i] = old_table[i & old_mask];
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

size_t FrequencySketch::BlockOf(uint64_t hash) const {
  return (Mix64(hash + kBlockSeed) & block_mask_) * kBlockWords;
}

void FrequencySketch::Prefetch(uint64_t hash) const {
  __builtin_prefetch(table_ + BlockOf(hash), /*rw=*/1);
}

FrequencySketch::Slots FrequencySketch::Locate(uint64_t hash) const {
  // The block from the low bits of one mix (a grown table uses more of them); within it, row i
  // takes 5 bits of another: which of its two words, and which nibble.
  const size_t block = BlockOf(hash);
  const uint64_t c = Mix64(hash + kCounterSeed);
  Slots s;
  for (int i = 0; i < 4; ++i) {
    const uint64_t h = c >> (i * 8);
    s.words[i] = block + 2 * i + (h & 1);
    s.shifts[i] = static_cast<int>((h >> 1) & 15) * 4;
  }
  return s;
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

  const Slots s = Locate(hash);
  int counts[4];
  int min = kMaxCount;
  for (int i = 0; i < 4; ++i) {
    counts[i] = static_cast<int>(table_[s.words[i]] >> s.shifts[i]) & 0xf;
    min = std::min(min, counts[i]);
  }
  if (min == kMaxCount) return;
  for (int i = 0; i < 4; ++i) {
    if (counts[i] == kMaxCount) continue;
    if (options_.conservative_update && counts[i] != min) continue;
    table_[s.words[i]] += uint64_t{1} << s.shifts[i];
  }
}

int FrequencySketch::Estimate(uint64_t hash) const {
  const Slots s = Locate(hash);
  int min = kMaxCount;
  for (int i = 0; i < 4; ++i) {
    min = std::min(min, static_cast<int>(table_[s.words[i]] >> s.shifts[i]) & 0xf);
  }
  if (options_.doorkeeper && DoorkeeperContains(hash)) ++min;
  return min;
}

void FrequencySketch::Reset() {
  for (size_t i = 0; i < words_; ++i) table_[i] = (table_[i] >> 1) & kHalfMask;
  std::fill(doorkeeper_.begin(), doorkeeper_.end(), 0);
  additions_ /= 2;
  ++resets_;
}

void FrequencySketch::Clear() {
  std::fill(table_, table_ + words_, 0);
  std::fill(doorkeeper_.begin(), doorkeeper_.end(), 0);
  additions_ = 0;
}

size_t FrequencySketch::HeapBytes() const {
  return AllocationBytes(storage_.data(), storage_.size() * sizeof(uint64_t)) +
         AllocationBytes(doorkeeper_.data(), doorkeeper_.size() * sizeof(uint64_t));
}

}  // namespace kv::server::cache

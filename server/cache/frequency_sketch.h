#pragma once
// A count-min sketch of key popularity for TinyLFU admission (Einziger, Friedman, Manes,
// "TinyLFU: A Highly Efficient Cache Admission Policy", 2017).
//
// 4-bit counters, 16 per uint64, 4 rows. A key's frequency is the minimum of its 4 counters, so
// it can only be over-estimated (by collisions), and it saturates at 15. As in Caffeine, a key's
// 4 counters sit in one 64-byte block (8 words; row i uses word 2i or 2i+1 of the block), so an
// increment or estimate touches one cache line instead of four. After `sample_size`
// recorded accesses every counter is halved ("reset"), so the sketch reflects recent popularity
// and a once-hot key fades. An optional doorkeeper (a Bloom filter cleared at each reset)
// absorbs the first access of each key, keeping one-hit wonders out of the counters.
//
// Not thread-safe: each cache shard owns one, under its lock.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kv::server::cache {

class FrequencySketch {
 public:
  struct Options {
    // Number of distinct keys the cache is expected to hold at first; sizes the table (one
    // uint64 = 16 counters per expected key, rounded up to a power of two, at least 16). The
    // table grows with EnsureCapacity as more keys are held, so start small rather than from a
    // byte budget.
    size_t expected_entries = 1024;
    // Counters are halved after sample_factor * expected_entries recorded accesses.
    size_t sample_factor = 10;
    // Put a Bloom filter in front of the counters (first access of a key sets a bit only).
    bool doorkeeper = false;
    // Increment only the counters that hold the current minimum (conservative update): fewer
    // over-estimates, same guarantees.
    bool conservative_update = true;
  };

  static constexpr int kMaxCount = 15;

  explicit FrequencySketch(const Options& options);
  // table_ points into storage_.
  FrequencySketch(const FrequencySketch&) = delete;
  FrequencySketch& operator=(const FrequencySketch&) = delete;

  // Records one access to the key with this hash.
  void Increment(uint64_t hash);
  // Starts loading the key's block, so that a later Increment or Estimate need not wait for it.
  void Prefetch(uint64_t hash) const;
  // Estimated accesses since the last resets (halved at each): 0..15, or 0..16 with the
  // doorkeeper (its bit counts as one).
  int Estimate(uint64_t hash) const;

  // Halves every counter and clears the doorkeeper. Runs by itself every sample_size accesses.
  void Reset();
  // Forgets everything.
  void Clear();
  // Raises the expected entries (and with them the reset period) to `expected_entries` if that
  // is larger than now, growing the table when it needs more words. Every count is kept: a
  // key's block in a table 2^k times larger is its old block plus a multiple of the old size
  // (more bits of the same mixed hash) and its words and nibbles within the block are
  // unchanged, so the old table is copied into each part of the new one. Collisions of the old
  // table stay until the counts age out.
  void EnsureCapacity(size_t expected_entries);

  size_t expected_entries() const { return expected_entries_; }
  size_t sample_size() const { return sample_size_; }
  // Accesses recorded since the last reset (halved by each reset).
  size_t additions() const { return additions_; }
  uint64_t resets() const { return resets_; }
  // Real heap bytes of the counter table and doorkeeper.
  size_t HeapBytes() const;

 private:
  static constexpr size_t kBlockBytes = 64;
  static constexpr size_t kBlockWords = kBlockBytes / sizeof(uint64_t);

  // Where a key's 4 counters are: word indexes (all in one block) and nibble shifts.
  struct Slots {
    size_t words[4];
    int shifts[4];
  };

  void Allocate(size_t expected_entries);
  // Points table_ at `words` zeroed words in new storage; returns the old storage, which the
  // old table_ points into.
  std::vector<uint64_t> NewTable(size_t words);
  // Index of the first word of the key's block.
  size_t BlockOf(uint64_t hash) const;
  Slots Locate(uint64_t hash) const;
  bool DoorkeeperTestAndSet(uint64_t hash);
  bool DoorkeeperContains(uint64_t hash) const;

  const Options options_;
  size_t expected_entries_ = 0;
  size_t sample_size_ = 0;
  size_t additions_ = 0;
  uint64_t resets_ = 0;
  uint64_t block_mask_ = 0;  // blocks - 1
  // The counters: `words_` words from `table_`, the first block boundary in `storage_` (which
  // has one block more than needed; plain new keeps the charge the same in every instance).
  std::vector<uint64_t> storage_;
  uint64_t* table_ = nullptr;
  size_t words_ = 0;
  uint64_t doorkeeper_mask_ = 0;  // in bits
  std::vector<uint64_t> doorkeeper_;
};

}  // namespace kv::server::cache

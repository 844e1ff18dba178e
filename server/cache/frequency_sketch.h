#pragma once
// A count-min sketch of key popularity for TinyLFU admission (Einziger, Friedman, Manes,
// "TinyLFU: A Highly Efficient Cache Admission Policy", 2017).
//
// 4-bit counters, 16 per uint64, 4 rows. A key's frequency is the minimum of its 4 counters, so
// it can only be over-estimated (by collisions), and it saturates at 15. After `sample_size`
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
    // uint64 = 16 counters per expected key, rounded up to a power of two). The table grows
    // with EnsureCapacity as more keys are held, so start small rather than from a byte budget.
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

  // Records one access to the key with this hash.
  void Increment(uint64_t hash);
  // Estimated accesses since the last resets (halved at each): 0..15, or 0..16 with the
  // doorkeeper (its bit counts as one).
  int Estimate(uint64_t hash) const;

  // Halves every counter and clears the doorkeeper. Runs by itself every sample_size accesses.
  void Reset();
  // Forgets everything.
  void Clear();
  // Raises the expected entries (and with them the reset period) to `expected_entries` if that
  // is larger than now, growing the table when it needs more words. Every count is kept: a
  // key's word in a table 2^k times larger is its old word plus a multiple of the old size (more
  // bits of the same mixed hash) and its nibble is unchanged, so the old table is copied into
  // each part of the new one. Collisions of the old table stay until the counts age out.
  void EnsureCapacity(size_t expected_entries);

  size_t expected_entries() const { return expected_entries_; }
  size_t sample_size() const { return sample_size_; }
  // Accesses recorded since the last reset (halved by each reset).
  size_t additions() const { return additions_; }
  uint64_t resets() const { return resets_; }
  // Real heap bytes of the counter table and doorkeeper.
  size_t HeapBytes() const;

 private:
  void Allocate(size_t expected_entries);
  // Word index and nibble shift of the key's counter in row i.
  void Locate(uint64_t hash, int row, size_t* word, int* shift) const;
  bool DoorkeeperTestAndSet(uint64_t hash);
  bool DoorkeeperContains(uint64_t hash) const;

  const Options options_;
  size_t expected_entries_ = 0;
  size_t sample_size_ = 0;
  size_t additions_ = 0;
  uint64_t resets_ = 0;
  uint64_t table_mask_ = 0;
  std::vector<uint64_t> table_;
  uint64_t doorkeeper_mask_ = 0;  // in bits
  std::vector<uint64_t> doorkeeper_;
};

}  // namespace kv::server::cache

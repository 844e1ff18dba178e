#pragma once
// Trace-driven hit-ratio simulation of the hot-key cache against an LRU and an ideal static
// cache, over Zipf-distributed requests; optionally with the popularity ranking remapped
// halfway through to see how fast each policy adapts.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "server/cache/hot_key_cache.h"

namespace kv::bench {

struct SimConfig {
  // Key space and request distribution.
  uint32_t keys = 1'000'000;
  double zipf = 0.99;
  uint64_t requests = 10'000'000;
  // Cache size as a share of the key space (in entries; every entry has the same size).
  double cache_fraction = 0.01;
  uint64_t seed = 42;
  // Size of every cached value (keys are all 16 bytes).
  uint32_t value_bytes = 100;
  // Requests per reporting window of the shifting trace.
  uint64_t window = 100'000;
  // HotKeyCache tuning (see HotKeyCache::Options). One shard by default: the policy alone.
  int shards = 1;
  double window_fraction = 0.01;
  size_t sample_factor = 10;
  bool doorkeeper = false;
  bool random_admission = true;
};

struct PolicyResult {
  uint64_t hits = 0;
  uint64_t first_half_hits = 0;
  uint64_t second_half_hits = 0;
  std::vector<uint64_t> window_hits;  // per SimConfig::window requests
};

struct SimResult {
  bool shift = false;
  uint64_t requests = 0;
  uint64_t half = 0;  // requests in the first half
  PolicyResult tinylfu;
  PolicyResult lru;
  PolicyResult ideal;  // static top-share cache (re-chosen at the shift: an oracle)
  server::cache::HotKeyCache::Stats stats;  // the HotKeyCache at the end
  double seconds = 0;
};

class Simulation {
 public:
  explicit Simulation(const SimConfig& config);

  // Cache size in entries, and the byte budget that holds exactly that many of the simulated
  // entries in the HotKeyCache (measured by filling one).
  uint32_t cache_entries() const { return cache_entries_; }
  size_t capacity_bytes() const { return capacity_bytes_; }
  size_t entry_charge() const { return entry_charge_; }

  // `shift`: remap the popularity ranking after half of the requests.
  SimResult Run(bool shift) const;

 private:
  server::cache::HotKeyCache::Options CacheOptions(size_t capacity) const;
  absl::string_view Key(uint32_t id) const {
    return absl::string_view(&keys_[size_t{id} * kKeyBytes], kKeyBytes);
  }

  static constexpr size_t kKeyBytes = 16;

  const SimConfig config_;
  std::string keys_;  // all keys, fixed width, back to back
  uint32_t cache_entries_ = 0;
  size_t entry_charge_ = 0;
  size_t capacity_bytes_ = 0;
};

}  // namespace kv::bench

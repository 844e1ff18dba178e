#include "bench/cache_sim/simulation.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "bench/cache_sim/lru_sim.h"
#include "bench/common/zipf.h"

namespace kv::bench {
namespace {

using server::cache::CachedValue;
using server::cache::HotKeyCache;

// A random permutation of 0..n-1 (Fisher-Yates with our own bounded draw, so the trace is the
// same with every standard library).
std::vector<uint32_t> Permutation(uint32_t n, std::mt19937_64& rng) {
  std::vector<uint32_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  for (uint32_t i = n; i > 1; --i) {
    const auto j = static_cast<uint32_t>((static_cast<unsigned __int128>(rng()) * i) >> 64);
    std::swap(p[i - 1], p[j]);
  }
  return p;
}

}  // namespace

Simulation::Simulation(const SimConfig& config) : config_(config) {
  keys_.resize(size_t{config.keys} * kKeyBytes);
  char buf[kKeyBytes + 1];
  for (uint32_t id = 0; id < config.keys; ++id) {
    std::snprintf(buf, sizeof(buf), "key:%012u", id);
    keys_.replace(size_t{id} * kKeyBytes, kKeyBytes, buf, kKeyBytes);
  }
  cache_entries_ = static_cast<uint32_t>(std::llround(config.keys * config.cache_fraction));

  CachedValue v;
  v.found = true;
  v.value = std::string(config.value_bytes, 'v');
  v.version = 1;
  entry_charge_ = HotKeyCache::EntryCharge(Key(0), v);
  // The budget for exactly cache_entries_ entries: entries plus the table and sketch they need,
  // measured by filling a cache. Twice: the first fill frees its large (mmapped) blocks, which
  // raises glibc's mmap threshold, so later caches get those blocks from the heap with a
  // slightly different real size; the second fill sees the same allocator state as Run().
  for (int pass = 0; pass < 2; ++pass) {
    HotKeyCache probe(CacheOptions(size_t{1} << 40));
    for (uint32_t id = 0; id < cache_entries_; ++id) {
      probe.Admit(Key(id), server::cache::MakeCachedValue(v));
    }
    capacity_bytes_ = probe.GetStats().bytes_used;
  }
}

HotKeyCache::Options Simulation::CacheOptions(size_t capacity) const {
  HotKeyCache::Options o;
  o.capacity_bytes = capacity;
  o.shards = config_.shards;
  o.expected_entries = cache_entries_;
  o.window_fraction = config_.window_fraction;
  o.sample_factor = config_.sample_factor;
  o.doorkeeper = config_.doorkeeper;
  o.random_admission = config_.random_admission;
  o.seed = config_.seed;
  return o;
}

SimResult Simulation::Run(bool shift) const {
  const auto start = std::chrono::steady_clock::now();
  SimResult r;
  r.shift = shift;
  r.requests = config_.requests;
  r.half = config_.requests / 2;
  const uint64_t windows = (config_.requests + config_.window - 1) / config_.window;
  for (PolicyResult* p : {&r.tinylfu, &r.lru, &r.ideal}) p->window_hits.assign(windows, 0);

  std::mt19937_64 rng(config_.seed + (shift ? 1 : 0));
  // Rank r (1-based) is key perm[r - 1]: hot keys are scattered over the key space.
  const std::vector<uint32_t> before = Permutation(config_.keys, rng);
  const std::vector<uint32_t> after = shift ? Permutation(config_.keys, rng) : before;
  const ZipfSampler zipf(config_.keys, config_.zipf);

  HotKeyCache cache(CacheOptions(capacity_bytes_));
  LruSim lru(config_.keys, cache_entries_);
  CachedValue proto;
  proto.found = true;
  proto.value = std::string(config_.value_bytes, 'v');
  proto.version = 1;

  auto count = [&](PolicyResult* p, bool hit, uint64_t i) {
    if (!hit) return;
    ++p->hits;
    ++(i < r.half ? p->first_half_hits : p->second_half_hits);
    ++p->window_hits[i / config_.window];
  };
  for (uint64_t i = 0; i < config_.requests; ++i) {
    const uint64_t rank = zipf.Sample(rng);
    const uint32_t id = (i < r.half ? before : after)[rank - 1];
    count(&r.ideal, rank <= cache_entries_, i);
    count(&r.lru, lru.Access(id), i);
    const absl::string_view key = Key(id);
    const bool hit = cache.Lookup(key) != nullptr;
    if (!hit) cache.Admit(key, server::cache::MakeCachedValue(proto));
    count(&r.tinylfu, hit, i);
  }
  r.stats = cache.GetStats();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace kv::bench

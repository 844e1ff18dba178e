#pragma once
// The in-memory hot-key cache of a cache-mode edge: a byte-bounded W-TinyLFU cache of values
// and "not found"s, sharded by key hash. See docs/cache.md for the policy and its measurements.
//
// Thread-safe. Each shard has its own mutex, policy, frequency sketch and an equal share of the
// byte budget, so a key's fate depends only on the keys that share its shard. Values are held
// as shared_ptr<const CachedValue>: a reader keeps its value after the lock is released and
// after the entry is evicted or replaced. A batch (LookupAllIf, Prefetch) holds the locks of all
// its keys' shards at once, taken in shard order; nothing else holds more than one shard lock.
//
// Versions: an entry is only ever replaced by a strictly newer version (Admit and
// UpdateIfPresent), so a slow fetch can never overwrite a change that the stream already
// applied. Expiration is not checked here; the caller compares CachedValue::expiration with
// its clock.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "server/cache/cached_value.h"
#include "server/cache/w_tiny_lfu.h"

namespace kv::server::cache {

class HotKeyCache {
 public:
  struct Options {
    // Memory budget in bytes for everything the cache holds: entries (key, value, metadata,
    // node, shared_ptr block), hash tables and frequency sketches, as the allocator sizes them.
    // Split equally between shards.
    size_t capacity_bytes = 64 << 20;
    // Number of independently locked shards (at least 1).
    int shards = 16;
    // Admission window share of each shard's budget.
    double window_fraction = 0.01;
    // Protected share of each shard's main space.
    double protected_fraction = 0.8;
    // Sizes the frequency sketches at first. 0 = capacity_bytes / expected_entry_bytes, at most
    // max_initial_entries: memory is taken as entries arrive, not reserved for a budget that
    // may never fill (a 2 TiB budget used to allocate 4 GiB of sketch at start). Each shard's
    // sketch grows, keeping its counts, to the most entries the shard has held.
    size_t expected_entries = 0;
    size_t expected_entry_bytes = 512;
    size_t max_initial_entries = 65536;
    // Sketch counters are halved every sample_factor * expected entries accesses of a shard.
    size_t sample_factor = 10;
    // Bloom-filter doorkeeper in front of the sketch (off: it did not help, see docs/cache.md).
    bool doorkeeper = false;
    // Admit a losing candidate of frequency >= 6 with probability 1/128 (hash-flooding
    // resistance, as in Caffeine).
    bool random_admission = true;
    // Seed of the random admission.
    uint64_t seed = 1;
    // Called with the key of every entry the policy removes (evicted victims and rejected
    // candidates; not Erase, Clear or replacement). Called OUTSIDE the shard lock, after the
    // operation that caused it returns its result, so it may call back into the cache; by then
    // the key may already have been admitted again.
    std::function<void(absl::string_view key)> on_evict;
  };

  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t window_admissions = 0;     // promotions window -> main (probation)
    uint64_t protected_promotions = 0;  // promotions probation -> protected
    uint64_t evictions = 0;             // entries removed to make room
    uint64_t rejections = 0;            // candidates that lost admission (removed too)
    uint64_t too_large = 0;             // offers larger than a shard's whole budget
    uint64_t entries = 0;
    uint64_t negative_entries = 0;
    uint64_t bytes_used = 0;   // entries + tables + sketches
    uint64_t bytes_limit = 0;  // sum of the shard budgets
  };

  explicit HotKeyCache(Options options);
  ~HotKeyCache();
  HotKeyCache(const HotKeyCache&) = delete;
  HotKeyCache& operator=(const HotKeyCache&) = delete;

  // The cached value or "not found", or nullptr on a miss. Records the access for admission.
  std::shared_ptr<const CachedValue> Lookup(absl::string_view key);
  // As Lookup when the key is cached; a miss records nothing (no access, no miss), for a caller
  // that will make the ordinary Lookup next.
  std::shared_ptr<const CachedValue> LookupIfCached(absl::string_view key);
  // A batch read: looks every key up with their memory fetched together (a batch's cache misses
  // overlap), under the locks of all the shards the keys fall in at once (taken in shard
  // order). With every key cached and accept(values) true, records the reads as Lookup does
  // (access, hit, recency), leaves the values in `out` in key order and returns true. Else
  // records nothing (no access, no hit or miss) and returns false, `out` empty. `accept` runs
  // under those locks: it must be quick and must not call into the cache.
  bool LookupAllIf(
      absl::Span<const absl::string_view> keys,
      std::vector<std::shared_ptr<const CachedValue>>* out,
      absl::FunctionRef<bool(absl::Span<const std::shared_ptr<const CachedValue>>)> accept);
  // A hint: starts fetching the table slots, sketch blocks, entries and values of `keys` into
  // the CPU cache (the keys of the next commands of a pipeline), under the locks of their
  // shards, taking only those that are free (a busy shard's keys are skipped). Records nothing.
  void Prefetch(absl::Span<const absl::string_view> keys) const;
  // The cached value, without counting a hit or miss or recording an access (bookkeeping).
  std::shared_ptr<const CachedValue> Peek(absl::string_view key) const;

  // Records an access without a lookup (e.g. a read served from elsewhere).
  void RecordAccess(absl::string_view key);
  // Offers a value fetched after a miss. A present entry is replaced only by a newer version.
  // Returns whether the key is cached afterwards (false: too large, or it lost admission).
  bool Admit(absl::string_view key, std::shared_ptr<const CachedValue> value);
  // Admit, only if `still_valid()` holds: it is called under the key's shard lock, so it is
  // decided atomically with the insertion against anything else done under that lock (Erase).
  // A full edge passes its generation check (server/edge/hot_read_cache.h).
  bool AdmitIf(absl::string_view key, std::shared_ptr<const CachedValue> value,
               absl::FunctionRef<bool()> still_valid);
  // A change from the stream: replaces the entry only if present and older. Returns whether it
  // did.
  bool UpdateIfPresent(absl::string_view key, std::shared_ptr<const CachedValue> value);
  // Removes the key (no on_evict). Returns whether it was present.
  bool Erase(absl::string_view key);
  // Removes everything (no on_evict); access frequencies are kept.
  void Clear();

  Stats GetStats() const;
  // Calls fn for every entry, shard by shard, hottest first within a shard. Each shard is
  // copied under its lock and fn runs outside it, so fn may be slow or call into the cache.
  void ForEach(
      absl::FunctionRef<void(absl::string_view key, const std::shared_ptr<const CachedValue>&)> fn)
      const;

  // The bytes one entry for this key and value is charged (excluding its hash-table slot).
  static size_t EntryCharge(absl::string_view key, const CachedValue& value) {
    return WTinyLfu::ChargeOf(key, value);
  }

 private:
  struct Shard {
    explicit Shard(const WTinyLfu::Options& o) : policy(o) {}
    mutable absl::Mutex mu;
    WTinyLfu policy ABSL_GUARDED_BY(mu);
  };

  class LockedBatch;
  size_t ShardIndex(uint64_t hash) const;
  Shard& ShardFor(uint64_t hash) const { return *shards_[ShardIndex(hash)]; }
  // Runs fn(policy, hashed key) under the lock of `key`'s shard; returns what fn returns.
  template <typename Fn>
  auto WithPolicy(absl::string_view key, Fn fn) const;
  // Frees removed entries and runs on_evict; called without any lock held.
  void Dispose(WTinyLfu::Garbage& garbage) const;

  const Options options_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace kv::server::cache

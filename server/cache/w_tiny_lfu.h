#pragma once
// One shard's W-TinyLFU replacement policy (Einziger, Eytan, Friedman, Manes, "Adaptive Software
// Cache Management", 2018; as in Caffeine), over a byte budget.
//
//   new entry -> [window LRU, ~1% of bytes] --overflow--> candidate
//   candidate vs victims at the probation tail: admitted to [probation] only if its sketch
//   frequency beats every victim it would displace (ties keep the incumbents)
//   hit in probation -> [protected, ~80% of the main space]; protected overflow -> probation.
//
// The window lets a burst of new keys build up frequency; the sketch keeps one-hit wonders from
// flushing the main space (scan resistance); the segmented main space keeps keys that were hit
// twice ahead of keys hit once.
//
// Not thread-safe: HotKeyCache wraps each shard's policy in a mutex. Removed entries are handed
// back in a Garbage so the caller can free them and run callbacks after dropping its lock.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/config.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "server/cache/cache_node_list.h"
#include "server/cache/cached_value.h"
#include "server/cache/frequency_sketch.h"
#include "server/cache/heap_bytes.h"
#include "server/cache/key_hash.h"

namespace kv::server::cache {

class WTinyLfu {
 public:
  struct Options {
    // Budget in bytes for entries, the hash table and the sketch together.
    size_t capacity_bytes = 1 << 20;
    // Share of the budget for the admission window.
    double window_fraction = 0.01;
    // Share of the main space (budget minus window) for the protected segment.
    double protected_fraction = 0.8;
    // Sizes the frequency sketch at first; it grows (keeping its counts) with the entries held.
    size_t expected_entries = 1024;
    // See FrequencySketch::Options.
    size_t sample_factor = 10;
    bool doorkeeper = false;
    // Admit a losing candidate with probability 1/128 when its frequency is at least
    // kRandomAdmissionMin, so an attacker who floods the sketch with colliding keys cannot
    // pin a victim forever (Caffeine does the same).
    bool random_admission = true;
    // Seed of the random-admission generator.
    uint64_t seed = 1;
  };

  struct Counters {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t window_admissions = 0;     // window -> probation (main space)
    uint64_t protected_promotions = 0;  // probation -> protected
    uint64_t evictions = 0;             // victims removed to make room
    uint64_t rejections = 0;            // candidates that lost admission (and were dropped)
    uint64_t too_large = 0;             // offers bigger than the whole budget
  };

  // What an operation removed; destroy it outside the lock.
  struct Garbage {
    std::vector<std::unique_ptr<CacheNode>> evicted;  // evictions and rejections: report these
    std::vector<std::unique_ptr<CacheNode>> erased;   // Erase/Clear: the caller asked for it
    std::vector<std::shared_ptr<const CachedValue>> replaced;  // older values of updated keys
  };

  static constexpr int kRandomAdmissionMin = 6;

  explicit WTinyLfu(const Options& options);
  ~WTinyLfu();
  WTinyLfu(const WTinyLfu&) = delete;
  WTinyLfu& operator=(const WTinyLfu&) = delete;

  // Records the access in the sketch; on a hit updates recency and returns the value.
  std::shared_ptr<const CachedValue> Lookup(const HashedKey& key);
  // As Lookup on a hit; a miss records nothing (no access, no miss).
  std::shared_ptr<const CachedValue> LookupIfCached(const HashedKey& key);
  // The value if cached, without recording an access or touching recency or the stats.
  std::shared_ptr<const CachedValue> Peek(const HashedKey& key) const {
    const CacheNode* e = Find(key);
    return e == nullptr ? nullptr : e->value;
  }
  // Records an access without looking up.
  void RecordAccess(const HashedKey& key) { sketch_.Increment(key.hash); }

  // A lookup in stages, for a caller that reads many keys at once (HotKeyCache::LookupAllIf):
  // each stage starts the memory fetches the next one needs, so the cache misses of all the
  // keys overlap instead of following one another. Call the stages for every key in turn.
  // 1. The key's table group and slot, and its sketch block.
  void PrefetchSlot(const HashedKey& key) const;
  // 2. The entry the table most likely holds for the key (the first slot whose 7-bit tag
  //    matches; not compared, so it may be another key's, which costs only the fetch).
  void PrefetchEntry(const HashedKey& key) const;
  // 3. Find, starting the fetch of the value and of the entry's list neighbours.
  const CacheNode* FindForBatch(const HashedKey& key) { return FindForRead(key); }
  // After 3, for a hint only (HotKeyCache::Prefetch): the value's bytes, a separate allocation.
  static void PrefetchValueBytes(const CacheNode* e) { __builtin_prefetch(e->value->value.data()); }
  // 4. Records a read of `e`, an entry FindForBatch returned, as Lookup records a hit.
  void RecordHitOf(const CacheNode* e, const HashedKey& key) {
    RecordHit(const_cast<CacheNode*>(e), key);
  }
  // Inserts into the window, or replaces a present entry whose version is lower. Returns
  // whether the key is cached afterwards.
  bool Admit(const HashedKey& key, std::shared_ptr<const CachedValue> value, Garbage* garbage);
  // Replaces a present entry whose version is lower; returns whether it did.
  bool UpdateIfPresent(const HashedKey& key, std::shared_ptr<const CachedValue> value,
                       Garbage* garbage);
  bool Erase(const HashedKey& key, Garbage* garbage);
  // Drops every entry; keeps the sketch, since popularity does not change when data goes stale.
  void Clear(Garbage* garbage);
  // Protected (hottest first), then probation, then window.
  void ForEach(absl::FunctionRef<void(const CacheNode&)> fn) const;

  // The heap bytes an entry for this key and value holds: the CacheNode allocation (with the
  // key), the value's shared block and its strings' buffers. Excludes the table slot, which
  // is counted with the table.
  static size_t ChargeOf(absl::string_view key, const CachedValue& value);

  // Entries + hash table + sketch: the memory this shard holds.
  size_t bytes_used() const { return entry_bytes_ + table_bytes_ + sketch_.HeapBytes(); }
  size_t capacity_bytes() const { return options_.capacity_bytes; }
  size_t entries() const { return table_.size(); }
  size_t negative_entries() const { return negative_entries_; }
  size_t table_bytes() const { return table_bytes_; }
  size_t window_bytes() const { return window_.bytes(); }
  size_t probation_bytes() const { return probation_.bytes(); }
  size_t protected_bytes() const { return protected_.bytes(); }
  const Counters& counters() const { return counters_; }
  // For tests: where the key is (kNone if absent) and its sketch frequency.
  Segment SegmentOf(absl::string_view key) const;
  int Frequency(absl::string_view key) const { return sketch_.Estimate(HashKey(key)); }
  const FrequencySketch& sketch() const { return sketch_; }

 private:
  // A probe by hash alone (PrefetchEntry): equal to the first entry whose tag matches. Abseil
  // 20220623's find calls the equality only on tag matches and checks nothing else; later
  // releases may check in debug builds that equal keys hash alike, so look again on an upgrade.
  static_assert(ABSL_LTS_RELEASE_VERSION == 20220623,
                "PrefetchEntry's HashProbe relies on this Abseil's flat_hash_set::find");
  struct HashProbe {
    uint64_t hash;
  };
  struct CacheNodeHash {
    using is_transparent = void;
    size_t operator()(const CacheNode* e) const { return e->hash; }
    size_t operator()(const HashedKey& k) const { return k.hash; }
    size_t operator()(const HashProbe& p) const { return p.hash; }
  };
  struct CacheNodeEq {
    using is_transparent = void;
    bool operator()(const CacheNode* a, const CacheNode* b) const { return a == b; }
    // The full hash first: a 7-bit tag match of another key then costs no key compare.
    bool operator()(const CacheNode* a, const HashedKey& b) const {
      return a->hash == b.hash && a->key() == b.key;
    }
    bool operator()(const HashedKey& a, const CacheNode* b) const {
      return a.hash == b->hash && a.key == b->key();
    }
    // Never reads the entry: that read is the cache miss PrefetchEntry starts.
    bool operator()(const CacheNode*, const HashProbe&) const { return true; }
    bool operator()(const HashProbe&, const CacheNode*) const { return true; }
  };
  using Table =
      absl::flat_hash_set<CacheNode*, CacheNodeHash, CacheNodeEq, CountingAllocator<CacheNode*>>;

  CacheNode* Find(const HashedKey& key) const;
  // Find, with the prefetches of a read: the entry's neighbours and value when found.
  CacheNode* FindForRead(const HashedKey& key);
  // A read of `e`: the access in the sketch, the hit, and its recency.
  void RecordHit(CacheNode* e, const HashedKey& key);
  CacheNodeList& ListOf(Segment segment);
  // Installs a newer value in place; the entry keeps its position.
  void Replace(CacheNode* e, std::shared_ptr<const CachedValue> value, Garbage* garbage);
  // Unlinks and unindexes `e`, handing it to `out`.
  void Detach(CacheNode* e, std::vector<std::unique_ptr<CacheNode>>* out);
  // Restores the invariants after an insert or a growth: window within its share (overflow
  // competes for the main space) and total bytes within the budget.
  void Maintain(Garbage* garbage);
  // Tries to move window candidate `c` into probation while over budget. False: dropped.
  bool AdmitCandidate(CacheNode* c, Garbage* garbage);
  void DemoteProtectedOverflow();
  uint64_t NextRandom();

  const Options options_;
  const size_t window_max_;
  const size_t protected_max_;

  size_t table_bytes_ = 0;  // real bytes of the table's backing array
  Table table_;
  FrequencySketch sketch_;
  CacheNodeList window_;
  CacheNodeList probation_;
  CacheNodeList protected_;
  size_t entry_bytes_ = 0;
  size_t negative_entries_ = 0;
  uint64_t random_state_;
  Counters counters_;
};

}  // namespace kv::server::cache

#pragma once
// A full edge's hot-key read cache: the W-TinyLFU HotKeyCache (server/cache) in front of the
// VersionedStore, kept coherent with what the FullEdgeApplier writes (docs/design.md, "The hot
// read cache of a full edge").
//
// The rule: an entry is the key's current record in the store, or the record a change being
// written gives it (while that change's stripe is odd, see below), or gone. The applier brackets
// every write of the store:
//   BeginChanges(changes): bump the generation of each changed key's stripe to odd; then each
//     key that is cached takes its change's record in place (a PUT its value, a DELETE a "not
//     found" at the change's version; it keeps its W-TinyLFU segment and position), or leaves
//     the cache if the change carries no value (an invalidation). Keys not cached stay so;
//   ... write the store, publish the new head version ...
//   EndChanges(written): if the write failed, erase the keys updated in place (nothing may stay
//     ahead of the store); bump the generations back to even.
// so every changed key holds its new record, or is out of the cache, before the new head is
// visible to readers. A reader that misses takes a Ticket (the key's stripe generation and the
// reset epoch) BEFORE it reads the store, and Offer admits what it read only if the ticket is
// still current (both even and unchanged), checked under the cache shard's lock, the lock the
// update and Erase take. A reader that read the old value around a change therefore cannot
// insert it: either its insert precedes the change's update (which replaces it, being newer)
// or its erase, or it sees the bumped generation (and is dropped). Snapshot installs bracket
// the same way with BeginReset/EndReset over every stripe at once (the epoch), and clear the
// cache.
//
// An entry may so be briefly NEWER than the store's head (updated, head not moved yet). Safe:
// - a single read reports as its as_of the head read BEFORE its lookup, a lower bound: the
//   answer reflects at least that (a store read could already return a record newer than its
//   as_of: RocksDB holds a batch a moment before the head moves);
// - a batch (LookupAllAsOf) refuses any entry newer than the head read before its lookups, so
//   it is answered from the cache only when no change after that head has reached any of its
//   keys: every entry is then its key's record at that head (a change up to it was applied to
//   the cache before the head reached it). A commit's keys are updated one by one, but a batch
//   that sees some of them updated sees an entry newer than its head and goes to the store.
// - a write that fails erases what it updated before the stripes reopen. Until then readers may
//   have seen the change's record, committed upstream but not (yet) here: a later read may
//   answer the older record (monotonic reads are a session's, which carries the version it saw
//   as min_version and so waits for this edge's head or goes upstream).
//
// Reads: Lookup a hit; check CachedValue::expiration against the clock (expired = absent, as
// the store reads). An entry's version is the record's version; a cached "not found" has the
// version of the delete that wrote it, or the head version read after the ticket, which is at
// least the version of the change that removed the key (so a batch may compare it with its own
// read version, see FullEdge::BatchGetLocal).
//
// Threading: Lookup, NewTicket, Offer and the stats from any thread; BeginChanges/EndChanges
// and BeginReset/EndReset from the one thread that writes the stream into the store (the
// Subscriber's), strictly paired, never nested. Ownership: owns its HotKeyCache; the full edge
// owns this and gives the applier a pointer (it outlives the applier's use).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "kvstore/v1/replication.pb.h"
#include "server/cache/cached_value.h"
#include "server/cache/hot_key_cache.h"

namespace kv::server {

class HotReadCache {
 public:
  struct Options {
    // Memory budget for keys, values and overhead (--hot-cache-bytes); must be > 0.
    uint64_t capacity_bytes = 64ull << 20;
    // Generation stripes (keys hash to one); more stripes, fewer misses refused for a change
    // of another key. A power of two.
    size_t stripes = 4096;
  };

  // What a reader saw before it read the store; Offer compares it again.
  struct Ticket {
    uint64_t epoch = 0;
    uint64_t generation = 0;
    size_t stripe = 0;
  };

  struct Stats {
    cache::HotKeyCache::Stats cache;
    // Offers refused because a change or a reset ran while the reader read the store.
    uint64_t refused_offers = 0;
  };

  explicit HotReadCache(Options options);
  HotReadCache(const HotReadCache&) = delete;
  HotReadCache& operator=(const HotReadCache&) = delete;

  // --- Readers -------------------------------------------------------------------------------
  // Take before reading the store for `key` (and before reading the head version the read will
  // report).
  Ticket NewTicket(absl::string_view key) const;
  // The cached record or "not found", nullptr on a miss (counts it, records the access).
  std::shared_ptr<const cache::CachedValue> Lookup(absl::string_view key) {
    auto hit = cache_.Lookup(key);
    if (hook_) hook_(HookPoint::kAfterLookup, key);
    return hit;
  }
  // As Lookup when the key is cached; a miss records nothing (the shared read: its caller then
  // makes the ordinary read, which looks up again).
  std::shared_ptr<const cache::CachedValue> LookupIfCached(absl::string_view key) {
    auto hit = cache_.LookupIfCached(key);
    if (hook_) hook_(HookPoint::kAfterLookup, key);
    return hit;
  }
  // HotKeyCache::Prefetch.
  void Prefetch(absl::Span<const absl::string_view> keys) const { cache_.Prefetch(keys); }
  // A batch from the cache alone: true when every key is cached and no entry is newer than
  // `as_of`, a head version read before the lookups (then every entry is its key's record at
  // that version, so the batch is one state, never part of a commit); the reads are recorded
  // and `out` holds the entries in key order. Else false, nothing recorded, `out` empty.
  bool LookupAllAsOf(absl::Span<const absl::string_view> keys, uint64_t as_of,
                     std::vector<std::shared_ptr<const cache::CachedValue>>* out);
  // The entry, without counting or recording an access (tests, bookkeeping).
  std::shared_ptr<const cache::CachedValue> Peek(absl::string_view key) const {
    return cache_.Peek(key);
  }
  // Offers what the store held for `key` when read after `ticket` was taken. Cached only if
  // no change of the key's stripe and no reset began since (and TinyLFU admits it).
  bool Offer(absl::string_view key, const Ticket& ticket, cache::CachedValue value);

  // --- The stream's writer -------------------------------------------------------------------
  // One key's change: a PUT, DELETE or INVALIDATE (a commit's parts one by one, as
  // replication::ForEachKeyChange yields them) and the version it takes effect at.
  struct KeyChange {
    const kvstore::v1::Change* change = nullptr;
    uint64_t version = 0;
  };
  // Before writing `changes` to the store, in version order (a key may repeat: its last change
  // wins). The changes must outlive the EndChanges that follows.
  void BeginChanges(absl::Span<const KeyChange> changes);
  // After the store write: `written` whether it succeeded (the store holds the changes).
  void EndChanges(bool written);
  // Before replacing the whole store (a snapshot install); clears the cache, which then admits
  // nothing until EndReset.
  void BeginReset();
  // After an install that finished. A failed install does not call it: the cache stays closed
  // (every read goes to the store) until a later install finishes.
  void EndReset();

  Stats GetStats() const;

  // Tests only, set before any reader runs. Offer skips the ticket check (proves the race
  // tests can fail); the hook runs on the reader's thread after every Lookup (a batch's: for
  // each key, after the whole batch was looked up) and at the start of every Offer, and on the
  // writer's after each cached key's update or erase in BeginChanges (the key) and at its end
  // (key ""), to interleave a change with a reader deterministically.
  enum class HookPoint { kAfterLookup, kBeforeOffer, kKeyChanged, kChangesBegun };
  void DisableGuardForTesting() { guard_ = false; }
  void SetHookForTesting(std::function<void(HookPoint point, absl::string_view key)> hook) {
    hook_ = std::move(hook);
  }

 private:
  size_t StripeOf(absl::string_view key) const;
  // Whether `ticket` is still current; called under the cache shard's lock.
  bool Current(const Ticket& ticket) const;

  const size_t stripe_mask_;
  cache::HotKeyCache cache_;
  // Odd while a change of one of its keys (or, for epoch_, a reset) is being written.
  std::unique_ptr<std::atomic<uint64_t>[]> generations_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<uint64_t> refused_offers_{0};
  bool guard_ = true;
  std::function<void(HookPoint point, absl::string_view key)> hook_;
  // The stripes bumped by BeginChanges, and the keys it updated in place (views of the
  // changes' keys), for EndChanges (the writer's thread only).
  std::vector<size_t> open_stripes_;
  std::vector<absl::string_view> updated_keys_;
};

}  // namespace kv::server

#pragma once
// A cache-mode edge's data: the hot-key cache, kept coherent by the replication stream and
// persisted (with the applied version) in a small RocksDB so a restart is warm.
//
// Coherence rules (docs/design.md, "Hot keys (cache edges)"):
// - Every stream change to a cached key replaces it if newer; changes to other keys only
//   advance the applied version. "Not found" is cached like a value, as of a version.
// - A cold miss registers the key as pending before fetching; a change that arrives for a
//   pending key is remembered, and when the fetch returns the newer of the two is installed.
//   Registration, the stream's updates and installation all happen under one mutex, so no
//   fetched value can slip in after a newer change went by.
// - Large values arrive as invalidations: the key is dropped and refetched on its next read.
// - RESET: the cache is dropped and the stream restarts at the upstream's head. A fetch in
//   flight then is not cached unless its answer is at least as new as the restart point (the
//   changes before it were skipped, so none of them can overtake the fetch).
//
// Threading: Lookup, LookupIfCached, LookupAll, LookupAllCached, JoinFetch, FinishFetch and
// FillStatus may be called from any thread; Apply and StartFrom come from the Subscriber's
// thread. Lookup and LookupIfCached take no lock of this class (the HotKeyCache is sharded
// internally), LookupAll and LookupAllCached only view_mu_ for reading; everything that changes
// content takes mu_. The CacheStore
// owns its RocksDB and cache; the waiters it holds are called outside mu_.

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "kvstore/v1/admin.pb.h"
#include "kvstore/v1/kv.pb.h"
#include "replication/change_applier.h"
#include "replication/freshness.h"
#include "rocksdb/db.h"
#include "server/cache/hot_key_cache.h"
#include "server/node/cluster_data.h"

namespace kv::server {

struct CacheStoreOptions {
  // Directory of the persisted cache; empty = in memory only (a LocalReplica): nothing is
  // persisted and every start is cold.
  std::string data_dir;
  // Memory for cached keys, values and their overhead.
  uint64_t cache_bytes = 256ull << 20;
  int shards = 16;
  // Sees every stream change of a reserved key, after it is applied; may be empty.
  ClusterDataObserver on_cluster_data;
};

// What a cold read gets when the coalesced fetch for its key ends.
struct FetchOutcome {
  absl::Status status;
  // The value to answer with (found or not), when status is OK and !must_forward.
  std::shared_ptr<const cache::CachedValue> value;
  // Freshness of the answer: the upstream's, or this node's when a stream change won.
  kvstore::v1::ReadInfo info;
  // A newer change whose value this node does not have (an invalidation) arrived during the
  // fetch: the fetched answer may be older than the caller's min_version; read it upstream.
  bool must_forward = false;
  // When the fetch was started (the leader's `now_micros`): a waiter that joined later reads an
  // answer that may be that much older than its own start.
  int64_t fetch_started_micros = 0;
};

// Staleness of a fetched answer for a reader that joined the fetch `joined_late` after it was
// sent: the upstream answered as of then at the earliest. kNeverFresh stays so.
inline int64_t FetchedStaleness(int64_t upstream_staleness, int64_t joined_late) {
  if (upstream_staleness == replication::FreshnessTracker::kNeverFresh) return upstream_staleness;
  return upstream_staleness + std::max<int64_t>(0, joined_late);
}

class CacheStore final : public replication::ChangeApplier, public replication::HeadFollower {
 public:
  using Waiter = absl::AnyInvocable<void(const FetchOutcome&) &&>;

  static absl::StatusOr<std::unique_ptr<CacheStore>> Open(const CacheStoreOptions& options);
  ~CacheStore() override;

  // ChangeApplier.
  uint64_t applied_version() const override { return applied_.load(std::memory_order_acquire); }
  // Cached entries the stream contradicted (same version, other content) and that were dropped
  // (docs/operations.md, "Checksums and kvctl verify").
  uint64_t mismatches() const { return mismatches_.load(); }
  std::string cluster_id() const override;
  std::string history_id() const override;
  absl::Status SetHistoryId(const std::string& history_id) override;
  absl::Status Apply(
      const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes) override;
  // HeadFollower.
  absl::Status StartFrom(uint64_t version, const std::string& cluster_id) override;

  // The hot path: the cached value or "not found", or nullptr on a miss.
  std::shared_ptr<const cache::CachedValue> Lookup(const std::string& key) {
    return cache_.Lookup(key);
  }

  // Lookup for a caller that makes the ordinary Lookup after a miss: a miss records nothing.
  std::shared_ptr<const cache::CachedValue> LookupIfCached(absl::string_view key) {
    return cache_.LookupIfCached(key);
  }
  // HotKeyCache::Prefetch.
  void Prefetch(absl::Span<const absl::string_view> keys) const { cache_.Prefetch(keys); }
  // A batch answered from the cache alone: every key's entry at one state of the stream, whose
  // applied version is `*as_of` (what LookupAll returns), and none of them newer than it (a
  // newer entry, from a cold fetch, may belong to a commit whose other keys are cached older).
  // Then the reads are recorded as Lookup records them and the answer is true. False when a
  // key is not cached or an entry is newer: nothing is recorded, `out` is empty.
  bool LookupAllCached(absl::Span<const absl::string_view> keys,
                       std::vector<std::shared_ptr<const cache::CachedValue>>* out,
                       uint64_t* as_of);

  // Looks up every key at one state of the stream (never between two parts of a commit) and
  // returns the applied version of that state. A value installed by a cold fetch may be newer
  // than it (the upstream was ahead); such an entry has a version above the one returned.
  uint64_t LookupAll(const google::protobuf::RepeatedPtrField<std::string>& keys,
                     std::vector<std::shared_ptr<const cache::CachedValue>>* out);

  // Cold reads. Adds `waiter` for `key` and returns true when the caller must start the fetch
  // (the first miss); later misses of the same key just wait for it (coalesced). `now_micros`
  // is the caller's monotonic time (FetchOutcome::fetch_started_micros).
  bool JoinFetch(const std::string& key, int64_t now_micros, Waiter waiter);
  // The one fetch for `key` ended: decides what to install and answers every waiter.
  void FinishFetch(const std::string& key, const absl::Status& status,
                   const kvstore::v1::FetchResponse& response);

  void FillStatus(kvstore::v1::CacheStatus* status) const;

  // --- Cluster data (reserved keys: the token key set) -------------------------------------
  // Kept apart from the cache (never evicted) and persisted, because this edge needs it to
  // check tokens even while its upstream is down. Every stream change of a reserved key
  // updates it; after a start at the head (a history this edge did not follow) it must be
  // fetched again. Each start at the head begins a new epoch.
  //
  // What is held now, for reporting at open.
  std::vector<kvstore::v1::Change> ClusterData() const;
  uint64_t epoch() const;
  // True when the key set is missing or from an earlier epoch: it must be fetched.
  bool NeedsClusterData() const;
  // Offers a fetched change of a reserved key, fetched in `epoch`. Kept when it is from this
  // epoch and replaces an entry of an earlier epoch (*restart = true) or an older version of
  // this one; returns whether it was kept.
  bool PinClusterData(const kvstore::v1::Change& change, uint64_t epoch, bool* restart);
  uint64_t upstream_fetches() const { return fetches_.load(); }

 private:
  struct Pending {
    std::vector<Waiter> waiters;
    // The newest change the stream brought for this key during the fetch.
    std::shared_ptr<const cache::CachedValue> newest;
    uint64_t newest_version = 0;
    bool newest_is_invalidation = false;
    int64_t started_micros = 0;
  };

  // What one Apply persists.
  struct KeyWrites {
    std::vector<std::pair<std::string, std::shared_ptr<const cache::CachedValue>>> puts;
    std::vector<std::string> deletes;
  };

  explicit CacheStore(const CacheStoreOptions& options);
  // One key's change (a change or a commit's part) at `version`.
  void ApplyKeyLocked(const kvstore::v1::Change& change, uint64_t version, KeyWrites* writes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Load();
  absl::Status LoadClusterData() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Keeps `change` of a reserved key and persists it.
  absl::Status PinLocked(const kvstore::v1::Change& change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Persists `puts` and `deletes` (and the applied version/cluster when given) in one write.
  absl::Status Persist(
      const std::vector<std::pair<std::string, std::shared_ptr<const cache::CachedValue>>>& puts,
      const std::vector<std::string>& deletes, bool with_meta) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Offers `value` to the cache and persists the outcome (and any evictions it caused).
  void AdmitLocked(const std::string& key, std::shared_ptr<const cache::CachedValue> value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after Open.
  const CacheStoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* entries_cf_ = nullptr;

  // Serialises every change of the cache's content with its persistence and the pending table.
  mutable absl::Mutex mu_;
  // Keys evicted by the cache during the current locked operation (on_evict runs on the
  // thread that caused the eviction, which holds mu_).
  std::vector<std::string> evicted_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::string cluster_id_ ABSL_GUARDED_BY(mu_);
  std::string history_id_ ABSL_GUARDED_BY(mu_);
  struct PinnedChange {
    kvstore::v1::Change change;
    uint64_t epoch = 0;
  };
  absl::flat_hash_map<std::string, PinnedChange> pinned_ ABSL_GUARDED_BY(mu_);
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  // Thread-safe by itself; its content changes only under mu_ (reads take no lock of ours,
  // except LookupAll).
  cache::HotKeyCache cache_;
  // Held for writing by Apply while it changes the cache and the applied version, and for
  // reading by LookupAll: a multi-key read sees whole stream batches. Taken after mu_.
  absl::Mutex view_mu_;

  // Read without mu_; written under it.
  std::atomic<uint64_t> applied_{0};
  std::atomic<uint64_t> mismatches_{0};
  // Counters.
  std::atomic<uint64_t> fetches_{0};
  std::atomic<uint64_t> coalesced_{0};
};

}  // namespace kv::server

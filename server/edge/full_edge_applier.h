#pragma once
// A full edge's copy of every key: the replication stream's applier into a VersionedStore.
// Each batch is written with the applied version in one RocksDB write, then handed to this
// node's own publisher (so it can relay to edges below it), and large values announced as
// invalidations are queued for background fetching. It bootstraps from snapshots.
//
// It also proves the copy: after each batch and each snapshot it compares the store's dataset
// checksum with the central node's that came with it (docs/operations.md, "Checksums and kvctl
// verify"). A mismatch is logged, counted, and makes the data suspect: NeedsBootstrap() turns
// true (the Subscriber resynchronises by a snapshot, and the edge serves no local reads until
// then); the snapshot that installs and matches clears it.
//
// With a HotReadCache (a full edge's hot keys), every batch's cached keys take their new records
// in place (or leave the cache: an invalidation) before the store's new head is visible, and
// leave it if the store write fails; a snapshot install clears it
// (server/edge/hot_read_cache.h).
//
// Threading: called by the Subscriber's thread only (see replication/change_applier.h); the
// accessors may be called from any thread. Owns nothing: the store, publisher and fetcher are
// the full edge's and outlive it.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "replication/change_applier.h"
#include "replication/publisher.h"
#include "server/edge/hot_read_cache.h"
#include "server/edge/value_fetcher.h"
#include "server/node/cluster_data.h"
#include "server/storage/versioned_store.h"
#include "server/watch/watch_hub.h"

namespace kv::server {

class FullEdgeApplier final : public replication::ChangeApplier,
                              public replication::SnapshotTarget {
 public:
  // All pointers must outlive this; `fetcher` may be null (no large values expected).
  // `on_cluster_data` sees every applied change of a reserved key, and the store's cluster data
  // after each snapshot; may be empty.
  FullEdgeApplier(VersionedStore* store, replication::Publisher* publisher, ValueFetcher* fetcher,
                  ClusterDataObserver on_cluster_data = {})
      : store_(store),
        publisher_(publisher),
        fetcher_(fetcher),
        on_cluster_data_(std::move(on_cluster_data)) {}

  uint64_t applied_version() const override { return store_->head_version(); }
  std::string cluster_id() const override { return store_->cluster_id(); }
  std::string history_id() const override { return store_->history_id(); }
  // Persists the history and hands it to this relay's publisher before the snapshot's Rebase
  // RESETs the edges below, so they are measured against the new history.
  absl::Status SetHistoryId(const std::string& history_id) override {
    if (auto s = store_->SetHistoryId(history_id); !s.ok()) return s;
    publisher_->SetHistoryId(history_id);
    return absl::OkStatus();
  }
  absl::Status Apply(
      const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes) override;
  // Also hands every applied batch, and every snapshot's new version, to `hub` (the node's
  // watchers). Set once before the stream starts; null = none.
  void SetWatchHub(WatchHub* hub) { watch_hub_ = hub; }
  // Keeps `cache` coherent with the store: BeginChanges/EndChanges around every batch's write,
  // BeginReset/EndReset around every snapshot install. Set once before the stream starts;
  // null = none.
  void SetHotCache(HotReadCache* cache) { hot_cache_ = cache; }

  // Recomputes the store's checksum from its records and compares it with the persisted one
  // (at open: finds what changed on disk while the node was down). A mismatch is reported as
  // after a batch; only a failed scan is an error.
  absl::Status VerifyStoredData();
  // The local data disagreed with the central node's checksum and no snapshot has healed it.
  bool diverged() const { return diverged_.load(); }
  // Mismatches found since the start, and the last one's description ("" if none).
  uint64_t mismatches() const { return mismatches_.load(); }
  std::string last_mismatch() const;

  // SnapshotTarget.
  bool NeedsBootstrap() const override;
  absl::Status BeginSnapshot() override;
  absl::Status ApplySnapshotChunk(const kvstore::v1::SnapshotChunk& chunk) override;
  absl::Status FinishSnapshot(uint64_t version, const std::string& cluster_id) override;

 private:
  VersionedStore* const store_;
  replication::Publisher* const publisher_;
  ValueFetcher* const fetcher_;
  const ClusterDataObserver on_cluster_data_;
  WatchHub* watch_hub_ = nullptr;
  HotReadCache* hot_cache_ = nullptr;
  // Between BeginSnapshot and the FinishSnapshot that ends it (the Subscriber's thread only).
  bool resetting_ = false;

  // Store::Apply bracketed by the hot cache's BeginChanges/EndChanges.
  absl::Status WriteToStore(const std::vector<const kvstore::v1::Change*>& changes);

  // Marks the data suspect: logs `what` once, counts it.
  void ReportMismatch(const std::string& what);

  std::atomic<bool> diverged_{false};
  std::atomic<uint64_t> mismatches_{0};
  mutable absl::Mutex mu_;
  std::string last_mismatch_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::server

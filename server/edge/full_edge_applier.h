#pragma once
// A full edge's copy of every key: the replication stream's applier into a VersionedStore.
// Each batch is written with the applied version in one RocksDB write, then handed to this
// node's own publisher (so it can relay to edges below it), and large values announced as
// invalidations are queued for background fetching. It bootstraps from snapshots.
//
// Threading: called by the Subscriber's thread only (see replication/change_applier.h); the
// accessors may be called from any thread. Owns nothing: the store, publisher and fetcher are
// the full edge's and outlive it.

#include <memory>
#include <string>
#include <vector>

#include "replication/change_applier.h"
#include "replication/publisher.h"
#include "server/edge/value_fetcher.h"
#include "server/node/cluster_data.h"
#include "server/storage/versioned_store.h"

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
  absl::Status Apply(
      const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes) override;

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
};

}  // namespace kv::server

#pragma once
// A standby central node's side of its leader's stream (docs/ha.md, "Standbys"). Each batch of
// proposed changes is kept aside durably (the store's pending changes, synced) and then
// acknowledged: the leader waits for that before it answers its writers. A change is applied to
// the data (through the FullEdgeApplier: store, publisher, watchers, cluster data) only once the
// leader says it is committed, so no reader of a standby, nor an edge below it, ever sees a
// version that a failover could lose. Snapshots (a new standby, or one too far behind the
// leader's log) go straight to the FullEdgeApplier.
//
// Threading: the Subscriber's thread calls the ChangeApplier and SnapshotTarget methods;
// Validate and CommitAllPending are called by the HA controller while no subscriber runs;
// applied_version and held_version may be read from any thread. Ownership: the store and the
// inner applier belong to the node and outlive this.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "replication/change_applier.h"
#include "server/edge/full_edge_applier.h"
#include "server/storage/versioned_store.h"

namespace kv::server {

// Epoch number -> the first version its leader committed (etcd's record, docs/ha.md).
using EpochStarts = std::map<uint64_t, uint64_t>;

class StandbyApplier final : public replication::ChangeApplier, public replication::SnapshotTarget {
 public:
  StandbyApplier(VersionedStore* store, FullEdgeApplier* inner);

  // Before a stream from the leader of `epoch` (or a campaign, with `epoch` the newest known):
  // drops pending changes that a later epoch replaced (a change proposed in epoch e at version v
  // belongs to the cluster's history only if v < the start of epoch e+1), applies those that
  // an earlier epoch left and the history holds (they are committed), and keeps those of
  // `epoch` itself. Returns the version this node now holds durably (held_version()).
  absl::StatusOr<uint64_t> Validate(uint64_t epoch, const EpochStarts& starts);
  // This node became the leader: every pending change is now part of the history it serves.
  absl::Status CommitAllPending();

  // The highest version held durably: the last pending change, else the store's head.
  uint64_t held_version() const { return held_.load(); }

  // ChangeApplier: "applied" is held (the stream continues from it).
  uint64_t applied_version() const override { return held_.load(); }
  std::string cluster_id() const override { return inner_->cluster_id(); }
  std::string history_id() const override { return inner_->history_id(); }
  absl::Status SetHistoryId(const std::string& history_id) override {
    return inner_->SetHistoryId(history_id);
  }
  absl::Status Apply(
      const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes) override;
  absl::Status OnCommitted(uint64_t version) override;
  // Readers see committed changes only.
  uint64_t visible_version() const override { return store_->head_version(); }
  // The stream must come from the leader of the epoch Validate prepared for: pending changes
  // are recorded under that epoch, and the epoch rule is only sound if they truly are its.
  absl::Status CheckStart(const kvstore::v1::StreamStart& start) override;

  // SnapshotTarget: the pending changes are forgotten first (the snapshot replaces everything).
  bool NeedsBootstrap() const override { return inner_->NeedsBootstrap(); }
  absl::Status BeginSnapshot() override;
  absl::Status ApplySnapshotChunk(const kvstore::v1::SnapshotChunk& chunk) override {
    return inner_->ApplySnapshotChunk(chunk);
  }
  absl::Status FinishSnapshot(uint64_t version, const std::string& cluster_id) override;

 private:
  // Applies pending changes up to `version` (all of them when it is UINT64_MAX).
  absl::Status ApplyPendingThrough(uint64_t version);

  VersionedStore* const store_;
  FullEdgeApplier* const inner_;
  // The epoch the current stream's changes are proposed in.
  uint64_t epoch_ = 0;
  // Pending changes, consecutive from the store's head + 1 (the subscriber's thread, or the
  // controller's while no subscriber runs).
  std::vector<std::shared_ptr<const kvstore::v1::Change>> pending_;
  std::atomic<uint64_t> held_{0};
};

}  // namespace kv::server

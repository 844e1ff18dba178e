#pragma once
// What the downstream side of the stream writes into. Every downstream is a ChangeApplier;
// each also has exactly one way to begin again when its data cannot resume the stream:
//   SnapshotTarget  a downstream that holds every key (a full edge, a relay): it replaces its
//                   data with the upstream's snapshot;
//   HeadFollower    a downstream that holds only some keys (a cache edge): it forgets them and
//                   follows the upstream from its head.
// The Subscriber is built with one or the other, so which way is taken is fixed by type.
//
// Threading: the Subscriber calls every method from its own thread, one call at a time; the
// read-only accessors may also be called from any thread. Implementations make each call atomic
// and durable enough to resume from (the applied version is persisted with the data it covers).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kvstore/v1/replication.pb.h"

namespace kv::replication {

class ChangeApplier {
 public:
  virtual ~ChangeApplier() = default;

  virtual uint64_t applied_version() const = 0;
  // Cluster id of the history the local data belongs to; empty before the first sync.
  virtual std::string cluster_id() const = 0;
  // History id of the local data (server/storage/history_id.h); empty when unknown (nothing
  // yet, or data from before history ids), which no upstream checks. The Subscriber records a
  // new one with SetHistoryId: for a SnapshotTarget before FinishSnapshot (the unfinished
  // snapshot's marker covers a crash in between), for a HeadFollower after StartFrom (a crash in
  // between leaves the old id, which only gets another RESET), and when the local data has
  // none, from the first stream start.
  virtual std::string history_id() const { return {}; }
  virtual absl::Status SetHistoryId(const std::string& /*history_id*/) { return absl::OkStatus(); }

  // Consecutive changes starting at applied_version() + 1, applied atomically.
  virtual absl::Status Apply(
      const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes) = 0;
  // A standby's leader says every version up to `version` is committed (docs/ha.md). An error
  // ends the stream.
  virtual absl::Status OnCommitted(uint64_t /*version*/) { return absl::OkStatus(); }
  // The version readers of this node see, which freshness is measured by: applied_version(),
  // except at a standby, which holds proposed changes it does not show yet.
  virtual uint64_t visible_version() const { return applied_version(); }
  // The stream's start, before anything on it is applied; an error ends the stream (a standby
  // checks it comes from the leader of the epoch it prepared for).
  virtual absl::Status CheckStart(const kvstore::v1::StreamStart& /*start*/) {
    return absl::OkStatus();
  }
};

// A downstream holding every key bootstraps, and re-bootstraps after a RESET, from a snapshot.
class SnapshotTarget {
 public:
  virtual ~SnapshotTarget() = default;

  // The local data cannot resume a stream (never bootstrapped, or a bootstrap was interrupted).
  virtual bool NeedsBootstrap() const = 0;
  // Replaces everything with a snapshot, chunk by chunk; after FinishSnapshot the applied
  // version is `version` and the data belongs to `cluster_id`.
  virtual absl::Status BeginSnapshot() = 0;
  virtual absl::Status ApplySnapshotChunk(const kvstore::v1::SnapshotChunk& chunk) = 0;
  virtual absl::Status FinishSnapshot(uint64_t version, const std::string& cluster_id) = 0;
};

// A downstream holding only some keys starts, and starts over after a RESET, at the upstream's
// head: it holds nothing it could be wrong about.
class HeadFollower {
 public:
  virtual ~HeadFollower() = default;

  // Forgets everything; the stream continues after the upstream's head `version`.
  virtual absl::Status StartFrom(uint64_t version, const std::string& cluster_id) = 0;
};

}  // namespace kv::replication

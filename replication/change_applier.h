#pragma once
// What the downstream side of the stream writes into: a full edge's store or a cache edge's
// cache. The Subscriber drives it; implementations make each call atomic and durable enough to
// resume from (the applied version is persisted with the data it covers).

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
  // Full edges bootstrap with a snapshot; cache edges start at the upstream's head instead.
  virtual bool holds_everything() const = 0;
  // The local data cannot resume a stream (never bootstrapped, or a bootstrap was interrupted).
  virtual bool NeedsBootstrap() const = 0;

  // Consecutive changes starting at applied_version() + 1, applied atomically.
  virtual absl::Status Apply(const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes) = 0;

  // Full edges: replace everything with a snapshot, chunk by chunk.
  virtual absl::Status BeginSnapshot() = 0;
  virtual absl::Status ApplySnapshotChunk(const kvstore::v1::SnapshotChunk& chunk) = 0;
  virtual absl::Status FinishSnapshot(uint64_t version, const std::string& cluster_id) = 0;

  // Cache edges: forget everything; the stream continues after the upstream's head `version`.
  virtual absl::Status StartFrom(uint64_t version, const std::string& cluster_id) = 0;
};

}  // namespace kv::replication

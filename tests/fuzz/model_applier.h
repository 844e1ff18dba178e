#pragma once
// An in-memory ChangeApplier: the fuzz target's model of a full edge's store. It applies the
// same messages as the real FullEdgeApplier, so their contents can be compared after every
// message, and it refuses (by aborting) any batch that does not continue its applied version
// exactly: the StreamReceiver must never hand an applier such a batch.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "replication/change_applier.h"
#include "server/storage/versioned_store.h"

namespace kv::fuzz {

class ModelApplier final : public replication::ChangeApplier,
                           public replication::SnapshotTarget,
                           public replication::HeadFollower {
 public:
  struct Record {
    uint64_t version = 0;
    int64_t expiration = 0;
    bool missing = false;  // announced by invalidation, value not fetched
    std::string metadata;
    std::string value;
  };

  // Replaces the content, as a finished snapshot would.
  void Reset(uint64_t version, std::string cluster_id, std::map<std::string, Record> records);

  uint64_t applied_version() const override { return applied_; }
  std::string cluster_id() const override { return cluster_id_; }
  bool NeedsBootstrap() const override { return cluster_id_.empty(); }
  absl::Status Apply(
      const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes) override;
  absl::Status BeginSnapshot() override;
  absl::Status ApplySnapshotChunk(const kvstore::v1::SnapshotChunk& chunk) override;
  absl::Status FinishSnapshot(uint64_t version, const std::string& cluster_id) override;
  absl::Status StartFrom(uint64_t version, const std::string& cluster_id) override;

  const std::map<std::string, Record>& records() const { return records_; }
  // Canonical text of the content (see StoreDigest).
  std::string Digest() const;
  // The content as one snapshot chunk at the applied version.
  kvstore::v1::SnapshotChunk AsSnapshot() const;

 private:
  uint64_t applied_ = 0;
  std::string cluster_id_;
  std::map<std::string, Record> records_;
};

// The same canonical text for a real store: every record (value, metadata, version,
// expiration) and which values are missing. Records whose expiration is INT64_MIN are left out
// of both (no "now" makes them visible to List).
std::string StoreDigest(server::VersionedStore* store);

}  // namespace kv::fuzz

#pragma once
// The test fixture of a full edge's FullEdgeApplier: real RocksDB stores on both sides, one
// stamping changes with its checksum as the central node does (the "central" store), the other
// (the edge's) written only through the applier, bootstrapped by an empty snapshot.

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "replication/publisher.h"
#include "server/edge/full_edge_applier.h"
#include "server/storage/versioned_store.h"
#include "tests/support/temp_dir.h"

namespace kv::server {

inline std::unique_ptr<VersionedStore> OpenTestStore(const std::string& path, bool central) {
  StoreOptions options;
  options.path = path;
  options.sync = false;
  options.index_expirations = central;
  options.disk.min_free_bytes = 0;
  auto store = VersionedStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

class FullEdgeApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    central_ = OpenTestStore(dir_.Sub("central"), true);
    edge_ = OpenTestStore(dir_.Sub("edge"), false);
    ASSERT_NE(central_, nullptr);
    ASSERT_NE(edge_, nullptr);
    publisher_ = std::make_unique<replication::Publisher>(
        &edge_->log(), Clock::Real(), replication::PublisherOptions{}, edge_->cluster_id(),
        edge_->head_version(), [] { return int64_t{0}; });
    applier_ = std::make_unique<FullEdgeApplier>(edge_.get(), publisher_.get(), nullptr);
    // Bootstrapped from the (empty) central node, as a new edge is by its first snapshot.
    kvstore::v1::SnapshotChunk chunk;
    chunk.set_version(0);
    chunk.set_cluster_id("test-cluster");
    chunk.set_checksum(central_->checksum_state().checksum);
    chunk.set_last(true);
    ASSERT_TRUE(applier_->BeginSnapshot().ok());
    ASSERT_TRUE(applier_->ApplySnapshotChunk(chunk).ok());
    ASSERT_TRUE(applier_->FinishSnapshot(0, "test-cluster").ok());
    ASSERT_FALSE(applier_->NeedsBootstrap());
  }
  void TearDown() override { publisher_->FinishAll(); }

  // `changes` committed at the "central" store at its next versions, stamped with its checksum
  // after each, as the stream carries them.
  std::vector<std::shared_ptr<const kvstore::v1::Change>> ChangesAtCentral(
      std::vector<kvstore::v1::Change> owned) {
    std::vector<kvstore::v1::Change*> pointers;
    uint64_t version = central_->head_version();
    for (auto& c : owned) {
      c.set_version(++version);
      pointers.push_back(&c);
    }
    EXPECT_TRUE(central_->ApplyStamped(pointers).ok());
    std::vector<std::shared_ptr<const kvstore::v1::Change>> batch;
    for (auto& c : owned) batch.push_back(std::make_shared<const kvstore::v1::Change>(c));
    return batch;
  }

  // A batch of puts committed at the "central" store, stamped with its checksum after each.
  std::vector<std::shared_ptr<const kvstore::v1::Change>> CommitAtCentral(
      const std::vector<std::pair<std::string, std::string>>& puts) {
    std::vector<kvstore::v1::Change> owned(puts.size());
    for (size_t i = 0; i < puts.size(); ++i) {
      owned[i].set_kind(kvstore::v1::Change::KIND_PUT);
      owned[i].set_key(puts[i].first);
      owned[i].set_value(puts[i].second);
    }
    return ChangesAtCentral(std::move(owned));
  }

  // One commit of `puts` and `deletes` at the "central" store, stamped with its checksum.
  std::vector<std::shared_ptr<const kvstore::v1::Change>> CommitOneAtCentral(
      const std::vector<std::pair<std::string, std::string>>& puts,
      const std::vector<std::string>& deletes = {}) {
    kvstore::v1::Change commit;
    commit.set_kind(kvstore::v1::Change::KIND_COMMIT);
    for (const auto& [key, value] : puts) {
      auto* part = commit.add_parts();
      part->set_kind(kvstore::v1::Change::KIND_PUT);
      part->set_key(key);
      part->set_value(value);
    }
    for (const auto& key : deletes) {
      auto* part = commit.add_parts();
      part->set_kind(kvstore::v1::Change::KIND_DELETE);
      part->set_key(key);
    }
    std::vector<kvstore::v1::Change> one(1, std::move(commit));
    return ChangesAtCentral(std::move(one));
  }
  // The value and version of `key` in the edge's store, or nullopt.
  std::optional<std::pair<std::string, uint64_t>> EdgeRecord(const std::string& key) {
    PinnedRecord record;
    auto found = edge_->Get(key, &record);
    EXPECT_TRUE(found.ok());
    if (!found.ok() || !*found) return std::nullopt;
    return std::make_pair(std::string(record.view.value), record.view.version);
  }

  testing::TempDir dir_;
  std::unique_ptr<VersionedStore> central_;
  std::unique_ptr<VersionedStore> edge_;
  std::unique_ptr<replication::Publisher> publisher_;
  std::unique_ptr<FullEdgeApplier> applier_;
};

}  // namespace kv::server

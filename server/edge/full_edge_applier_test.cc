// FullEdgeApplier proves its copy after every batch: real RocksDB stores on both sides, one
// stamping changes with its checksum as the central node does, the other applying them through
// the applier. A batch whose carried checksum disagrees with what the edge computes (a forged
// or corrupted stream, or an edge bug) marks the data suspect until a snapshot heals it.

#include "server/edge/full_edge_applier.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/clock.h"
#include "replication/publisher.h"
#include "server/storage/versioned_store.h"
#include "tests/support/temp_dir.h"

namespace kv::server {
namespace {

std::unique_ptr<VersionedStore> OpenStore(const std::string& path, bool central) {
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
    central_ = OpenStore(dir_.Sub("central"), true);
    edge_ = OpenStore(dir_.Sub("edge"), false);
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

  // A batch of puts committed at the "central" store, stamped with its checksum after each.
  std::vector<std::shared_ptr<const kvstore::v1::Change>> CommitAtCentral(
      const std::vector<std::pair<std::string, std::string>>& puts) {
    std::vector<kvstore::v1::Change> owned(puts.size());
    std::vector<kvstore::v1::Change*> pointers;
    uint64_t version = central_->head_version();
    for (size_t i = 0; i < puts.size(); ++i) {
      owned[i].set_version(++version);
      owned[i].set_kind(kvstore::v1::Change::KIND_PUT);
      owned[i].set_key(puts[i].first);
      owned[i].set_value(puts[i].second);
      pointers.push_back(&owned[i]);
    }
    EXPECT_TRUE(central_->ApplyStamped(pointers).ok());
    std::vector<std::shared_ptr<const kvstore::v1::Change>> batch;
    for (auto& c : owned) batch.push_back(std::make_shared<const kvstore::v1::Change>(c));
    return batch;
  }

  // One commit of `puts` and `deletes` at the "central" store, stamped with its checksum.
  std::vector<std::shared_ptr<const kvstore::v1::Change>> CommitOneAtCentral(
      const std::vector<std::pair<std::string, std::string>>& puts,
      const std::vector<std::string>& deletes = {}) {
    auto commit = std::make_shared<kvstore::v1::Change>();
    commit->set_version(central_->head_version() + 1);
    commit->set_kind(kvstore::v1::Change::KIND_COMMIT);
    for (const auto& [key, value] : puts) {
      auto* part = commit->add_parts();
      part->set_kind(kvstore::v1::Change::KIND_PUT);
      part->set_key(key);
      part->set_value(value);
    }
    for (const auto& key : deletes) {
      auto* part = commit->add_parts();
      part->set_kind(kvstore::v1::Change::KIND_DELETE);
      part->set_key(key);
    }
    EXPECT_TRUE(central_->ApplyStamped({commit.get()}).ok());
    return {commit};
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

TEST_F(FullEdgeApplierTest, MatchingBatchesKeepTheCopyTrusted) {
  for (int round = 0; round < 3; ++round) {
    auto batch = CommitAtCentral({{"a", "1"}, {"b", std::to_string(round)}, {"a", "2"}});
    ASSERT_TRUE(batch.back()->has_checksum());
    ASSERT_TRUE(applier_->Apply(batch).ok());
  }
  EXPECT_FALSE(applier_->diverged());
  EXPECT_EQ(applier_->mismatches(), 0u);
  EXPECT_FALSE(applier_->NeedsBootstrap());
  EXPECT_EQ(edge_->checksum_state().checksum, central_->checksum_state().checksum);
}

TEST_F(FullEdgeApplierTest, AForgedChecksumMarksTheDataSuspectUntilASnapshot) {
  ASSERT_TRUE(applier_->Apply(CommitAtCentral({{"a", "1"}})).ok());
  auto batch = CommitAtCentral({{"b", "2"}});
  auto forged = std::make_shared<kvstore::v1::Change>(*batch.back());
  forged->set_checksum(forged->checksum() ^ 1);  // one bit: what a corrupted copy would show
  batch.back() = forged;
  // The batch is refused as a whole: the Subscriber resubscribes, and takes a snapshot.
  absl::Status applied = applier_->Apply(batch);
  EXPECT_FALSE(applied.ok());
  EXPECT_TRUE(applier_->diverged());
  EXPECT_EQ(applier_->mismatches(), 1u);
  EXPECT_TRUE(applier_->NeedsBootstrap());  // the Subscriber resynchronises by a snapshot
  EXPECT_NE(applier_->last_mismatch().find("checksum mismatch"), std::string::npos)
      << applier_->last_mismatch();

  // The snapshot of the central node's records (a=1 at 1, b=2 at 2) adds up: trusted again.
  kvstore::v1::SnapshotChunk chunk;
  chunk.set_version(2);
  chunk.set_cluster_id("test-cluster");
  chunk.set_checksum(central_->checksum_state().checksum);
  chunk.set_last(true);
  for (const auto& [key, value, version] :
       std::vector<std::tuple<std::string, std::string, uint64_t>>{{"a", "1", 1}, {"b", "2", 2}}) {
    kvstore::v1::Entry* e = chunk.add_entries();
    e->set_key(key);
    e->set_value(value);
    e->set_version(version);
  }
  ASSERT_TRUE(applier_->BeginSnapshot().ok());
  ASSERT_TRUE(applier_->ApplySnapshotChunk(chunk).ok());
  ASSERT_TRUE(applier_->FinishSnapshot(2, "test-cluster").ok());
  EXPECT_FALSE(applier_->diverged());
  EXPECT_FALSE(applier_->NeedsBootstrap());
  EXPECT_EQ(applier_->mismatches(), 1u);  // the count stays
  EXPECT_EQ(edge_->checksum_state().checksum, central_->checksum_state().checksum);
}

TEST_F(FullEdgeApplierTest, ACommitIsAppliedWholeAtItsVersion) {
  ASSERT_TRUE(applier_->Apply(CommitAtCentral({{"acct/a", "100"}, {"acct/c", "5"}})).ok());
  auto batch = CommitOneAtCentral({{"acct/a", "60"}, {"acct/b", "40"}}, {"acct/c"});
  ASSERT_TRUE(batch.back()->has_checksum());
  ASSERT_TRUE(applier_->Apply(batch).ok());
  EXPECT_FALSE(applier_->diverged());
  EXPECT_EQ(edge_->head_version(), 3u);
  EXPECT_EQ(EdgeRecord("acct/a"), std::make_pair(std::string("60"), uint64_t{3}));
  EXPECT_EQ(EdgeRecord("acct/b"), std::make_pair(std::string("40"), uint64_t{3}));
  EXPECT_EQ(EdgeRecord("acct/c"), std::nullopt);
  EXPECT_EQ(edge_->checksum_state().checksum, central_->checksum_state().checksum);
  // One log entry for the whole commit, relayed as it came.
  std::vector<kvstore::v1::Change> logged;
  ASSERT_TRUE(edge_->log().Read(3, 10, 1 << 20, &logged).ok());
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].kind(), kvstore::v1::Change::KIND_COMMIT);
  EXPECT_EQ(logged[0].parts_size(), 3);
  // A reader at one point of the store sees the commit whole: before it, or after it.
  const ReadPoint point = edge_->NewReadPoint();
  ASSERT_TRUE(applier_->Apply(CommitOneAtCentral({{"acct/a", "0"}, {"acct/b", "100"}})).ok());
  PinnedRecord a, b;
  ASSERT_TRUE(*edge_->Get("acct/a", &a, &point));
  ASSERT_TRUE(*edge_->Get("acct/b", &b, &point));
  EXPECT_EQ(a.view.value, "60");
  EXPECT_EQ(b.view.value, "40");
}

TEST_F(FullEdgeApplierTest, ACommitWithAWrongChecksumIsRefusedWhole) {
  auto batch = CommitOneAtCentral({{"x", "1"}, {"y", "2"}});
  auto forged = std::make_shared<kvstore::v1::Change>(*batch.back());
  forged->mutable_parts(1)->set_value("3");  // one part changed on the way
  batch.back() = forged;
  EXPECT_FALSE(applier_->Apply(batch).ok());
  EXPECT_TRUE(applier_->diverged());
}

}  // namespace
}  // namespace kv::server

// FullEdgeApplier proves its copy after every batch: real RocksDB stores on both sides, one
// stamping changes with its checksum as the central node does, the other applying them through
// the applier. A batch whose carried checksum disagrees with what the edge computes (a forged
// or corrupted stream, or an edge bug) marks the data suspect until a snapshot heals it.

#include "server/edge/full_edge_applier.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "server/edge/full_edge_applier_fixture.h"

namespace kv::server {
namespace {

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

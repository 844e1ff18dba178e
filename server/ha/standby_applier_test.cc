// A standby's applier against a real RocksDB store: proposed changes are held durably but not
// visible until committed, and before following a leader (or campaigning) the held changes are
// judged against etcd's epochs: what an earlier leader committed is applied, what a later epoch
// replaced is dropped.

#include "server/ha/standby_applier.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "replication/publisher.h"
#include "tests/support/temp_dir.h"

namespace kv::server {
namespace {

using kvstore::v1::Change;

std::vector<std::shared_ptr<const Change>> Puts(uint64_t from, uint64_t to,
                                                const std::string& tag) {
  std::vector<std::shared_ptr<const Change>> out;
  for (uint64_t v = from; v <= to; ++v) {
    auto c = std::make_shared<Change>();
    c->set_version(v);
    c->set_kind(Change::KIND_PUT);
    c->set_key("k" + std::to_string(v));
    c->set_value(tag);
    out.push_back(std::move(c));
  }
  return out;
}

class StandbyApplierTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override { Close(); }
  void Open() {
    StoreOptions options;
    options.path = dir_.Sub("store");
    options.sync = false;
    options.index_expirations = true;
    options.disk.min_free_bytes = 0;
    auto store = VersionedStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    publisher_ = std::make_unique<replication::Publisher>(
        &store_->log(), Clock::Real(), replication::PublisherOptions{}, "c", store_->head_version(),
        [] { return int64_t{0}; });
    inner_ = std::make_unique<FullEdgeApplier>(store_.get(), publisher_.get(), nullptr);
    applier_ = std::make_unique<StandbyApplier>(store_.get(), inner_.get());
  }
  // A restart: everything in memory is gone, the store stays.
  void Close() {
    applier_.reset();
    inner_.reset();
    if (publisher_) publisher_->FinishAll();
    publisher_.reset();
    store_.reset();
  }
  std::string Value(const std::string& key) {
    PinnedRecord record;
    auto found = store_->Get(key, &record);
    if (!found.ok() || !*found) return "";
    return std::string(record.view.value);
  }

  testing::TempDir dir_;
  std::unique_ptr<VersionedStore> store_;
  std::unique_ptr<replication::Publisher> publisher_;
  std::unique_ptr<FullEdgeApplier> inner_;
  std::unique_ptr<StandbyApplier> applier_;
};

TEST_F(StandbyApplierTest, ProposedChangesAreHeldButInvisibleUntilCommitted) {
  ASSERT_TRUE(applier_->Validate(1, {{1, 1}}).ok());
  ASSERT_TRUE(applier_->Apply(Puts(1, 3, "a")).ok());
  EXPECT_EQ(applier_->applied_version(), 3u);  // acknowledged to the leader
  EXPECT_EQ(store_->head_version(), 0u);       // seen by nobody
  EXPECT_EQ(Value("k1"), "");
  ASSERT_TRUE(applier_->OnCommitted(2).ok());
  EXPECT_EQ(store_->head_version(), 2u);
  EXPECT_EQ(applier_->visible_version(), 2u);
  EXPECT_EQ(Value("k2"), "a");
  EXPECT_EQ(Value("k3"), "");
  // Held durably: a restart still holds version 3.
  Close();
  Open();
  auto pending = store_->ReadPending();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].change->version(), 3u);
  EXPECT_EQ((*pending)[0].epoch, 1u);
}

TEST_F(StandbyApplierTest, ValidateAppliesWhatTheHistoryHoldsAndDropsWhatALaterEpochReplaced) {
  ASSERT_TRUE(applier_->Validate(1, {{1, 1}}).ok());
  ASSERT_TRUE(applier_->Apply(Puts(1, 4, "old")).ok());
  Close();
  Open();
  // Epoch 2's leader began at version 3: it held 1..2 of epoch 1; 3..4 were never committed.
  auto held = applier_->Validate(2, {{1, 1}, {2, 3}});
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(*held, 2u);
  EXPECT_EQ(store_->head_version(), 2u);
  EXPECT_EQ(Value("k2"), "old");
  EXPECT_EQ(Value("k3"), "");
  // Epoch 2's own version 3 follows, and is not confused with the dropped one.
  ASSERT_TRUE(applier_->Apply(Puts(3, 3, "new")).ok());
  ASSERT_TRUE(applier_->OnCommitted(3).ok());
  EXPECT_EQ(Value("k3"), "new");
  auto pending = store_->ReadPending();
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

TEST_F(StandbyApplierTest, ChangesOfTheCurrentEpochStayPendingAcrossARestart) {
  ASSERT_TRUE(applier_->Validate(3, {{1, 1}, {3, 1}}).ok());
  ASSERT_TRUE(applier_->Apply(Puts(1, 2, "x")).ok());
  Close();
  Open();
  auto held = applier_->Validate(3, {{1, 1}, {3, 1}});
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(*held, 2u);                            // resumes after them
  EXPECT_EQ(store_->head_version(), 0u);           // still not visible: not known to be committed
  ASSERT_TRUE(applier_->CommitAllPending().ok());  // elected: they are its history now
  EXPECT_EQ(store_->head_version(), 2u);
  EXPECT_EQ(Value("k2"), "x");
}

TEST_F(StandbyApplierTest, AStreamFromAnotherEpochIsRefused) {
  ASSERT_TRUE(applier_->Validate(4, {{4, 1}}).ok());
  kvstore::v1::StreamStart start;
  start.set_epoch(3);
  start.set_node_id("c9");
  absl::Status s = applier_->CheckStart(start);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  start.set_epoch(4);
  EXPECT_TRUE(applier_->CheckStart(start).ok());
}

}  // namespace
}  // namespace kv::server

#include "replication/change_log.h"

#include <gtest/gtest.h>

#include "server/storage/versioned_store.h"
#include "tests/support/temp_dir.h"

namespace kv::replication {

using kvstore::v1::Change;
namespace {

// The log lives in a VersionedStore; these tests drive it through the store's Apply.
class ChangeLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::StoreOptions options;
    options.path = dir_.path();
    options.sync = false;
    store_ = std::move(*server::VersionedStore::Open(options));
  }
  void Append(int n, int64_t commit_micros = 0) {
    std::vector<Change> changes(n);
    std::vector<const Change*> pointers;
    for (int i = 0; i < n; ++i) {
      changes[i].set_version(store_->head_version() + i + 1);
      changes[i].set_kind(Change::KIND_PUT);
      changes[i].set_key("k" + std::to_string(i));
      changes[i].set_value(std::string(100, 'v'));
      changes[i].set_commit_unix_micros(commit_micros);
      pointers.push_back(&changes[i]);
    }
    ASSERT_TRUE(store_->Apply(pointers).ok());
  }
  testing::TempDir dir_;
  std::unique_ptr<server::VersionedStore> store_;
};

TEST_F(ChangeLogTest, ReadsInOrderWithinLimits) {
  Append(50);
  std::vector<Change> out;
  ASSERT_TRUE(store_->log().Read(10, 5, 1 << 20, &out).ok());
  ASSERT_EQ(out.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[i].version(), 10u + i);
  out.clear();
  ASSERT_TRUE(store_->log().Read(1, 100, /*max_bytes=*/250, &out).ok());
  EXPECT_EQ(out.size(), 2u);  // stops before the change that would pass the byte budget
  out.clear();
  ASSERT_TRUE(store_->log().Read(49, 100, 1 << 20, &out).ok());
  EXPECT_EQ(out.size(), 2u);  // the log ends at 50
}

TEST_F(ChangeLogTest, TrimmingMovesTheOldestAndReadsBelowItFail) {
  Append(20);
  ASSERT_TRUE(store_->log().TrimBefore(11).ok());
  EXPECT_EQ(store_->log().oldest(), 11u);
  EXPECT_EQ(store_->log().entries(), 10u);
  std::vector<Change> out;
  absl::Status s = store_->log().Read(5, 10, 1 << 20, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  out.clear();
  ASSERT_TRUE(store_->log().Read(11, 100, 1 << 20, &out).ok());
  EXPECT_EQ(out.size(), 10u);
}

TEST_F(ChangeLogTest, FindsTheFirstYoungEnoughVersion) {
  Append(5, /*commit_micros=*/100);
  Append(5, /*commit_micros=*/200);
  EXPECT_EQ(*store_->log().FirstVersionAtOrAfter(150, 1000), 6u);
  EXPECT_EQ(*store_->log().FirstVersionAtOrAfter(50, 1000), 1u);
  EXPECT_EQ(*store_->log().FirstVersionAtOrAfter(300, 1000), 11u);  // everything is older
  EXPECT_EQ(*store_->log().FirstVersionAtOrAfter(300, 3), 4u);      // bounded scan
}

TEST_F(ChangeLogTest, OldestSurvivesReopen) {
  Append(30);
  ASSERT_TRUE(store_->log().TrimBefore(21).ok());
  store_.reset();
  SetUp();
  EXPECT_EQ(store_->log().oldest(), 21u);
  EXPECT_EQ(store_->log().newest(), 30u);
}

}  // namespace
}  // namespace kv::replication

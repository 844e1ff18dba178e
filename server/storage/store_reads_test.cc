#include "server/storage/store_reads.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "replication/testing/fake_applier.h"
#include "tests/support/temp_dir.h"

namespace kv::server {
namespace {

using kvstore::v1::Change;

// A put with metadata (so reads are checked to return it) and an optional expiration.
Change Put(uint64_t version, const std::string& key, const std::string& value,
           int64_t expiration = 0) {
  Change c = kv::testing::MakePut(version, key, value);
  c.set_metadata("m:" + key);
  c.set_expiration(expiration);
  return c;
}

class BatchReadLocalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.path = dir_.path();
    options.sync = false;
    options.disk.min_free_bytes = 0;
    auto store = VersionedStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void Apply(std::vector<Change> changes) {
    std::vector<const Change*> pointers;
    for (const auto& c : changes) pointers.push_back(&c);
    ASSERT_TRUE(store_->Apply(pointers).ok());
  }

  testing::TempDir dir_;
  std::unique_ptr<VersionedStore> store_;
};

TEST_F(BatchReadLocalTest, FillsFoundKeysInOrderAndSkipsExpiredAndAbsentOnes) {
  const std::string binary("b\0\r\n", 4);
  Apply({Put(1, "a", "1"), Put(2, binary, std::string("v\0", 2)), Put(3, "gone", "x", 100)});
  google::protobuf::RepeatedPtrField<std::string> keys;
  for (const std::string& k :
       {std::string("gone"), binary, std::string("nope"), std::string("a")}) {
    *keys.Add() = k;
  }
  kvstore::v1::BatchGetResponse response;
  auto missing = BatchReadLocal(*store_, keys, /*now_unix=*/100, store_->NewReadPoint(), &response);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(*missing);
  ASSERT_EQ(response.results_size(), 4);
  EXPECT_FALSE(response.results(0).found());  // expired at 100
  EXPECT_FALSE(response.results(0).has_entry());
  ASSERT_TRUE(response.results(1).found());
  EXPECT_EQ(response.results(1).entry().key(), binary);
  EXPECT_EQ(response.results(1).entry().value(), std::string("v\0", 2));
  EXPECT_EQ(response.results(1).entry().metadata(), "m:" + binary);
  EXPECT_EQ(response.results(1).entry().version(), 2u);
  EXPECT_FALSE(response.results(2).found());
  ASSERT_TRUE(response.results(3).found());
  EXPECT_EQ(response.results(3).entry().value(), "1");
  EXPECT_EQ(response.results(3).entry().version(), 1u);
  // Before its expiration the key is there.
  response.Clear();
  ASSERT_TRUE(BatchReadLocal(*store_, keys, 99, store_->NewReadPoint(), &response).ok());
  ASSERT_TRUE(response.results(0).found());
  EXPECT_EQ(response.results(0).entry().expiration(), 100);
}

TEST_F(BatchReadLocalTest, SaysWhenAValueIsNotFetchedYet) {
  Change invalidate;
  invalidate.set_version(2);
  invalidate.set_kind(Change::KIND_INVALIDATE);
  invalidate.set_key("big");
  Apply({Put(1, "a", "1"), invalidate});
  google::protobuf::RepeatedPtrField<std::string> keys;
  *keys.Add() = "a";
  *keys.Add() = "big";
  kvstore::v1::BatchGetResponse response;
  auto missing = BatchReadLocal(*store_, keys, 0, store_->NewReadPoint(), &response);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_TRUE(*missing);
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_FALSE(response.results(1).found());
}

}  // namespace
}  // namespace kv::server

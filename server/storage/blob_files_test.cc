// Large values in blob files: small neighbours read no large block, and data directories open
// whichever way blob files are configured (with or without blob files already in them).

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "rocksdb/perf_context.h"
#include "rocksdb/perf_level.h"
#include "server/storage/versioned_store.h"
#include "tests/support/temp_dir.h"

namespace kv::server {
namespace {

using kvstore::v1::Change;

std::unique_ptr<VersionedStore> Open(const std::string& path, uint64_t min_blob_bytes) {
  StoreOptions options;
  options.path = path;
  options.sync = false;
  options.min_blob_bytes = min_blob_bytes;
  options.disk.min_free_bytes = 0;
  auto store = VersionedStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

// Puts 40 small keys "k/000".."k/039" and, right after "k/019", a large value "k/019+".
absl::Status Fill(VersionedStore* store, uint64_t first_version, const std::string& large) {
  std::vector<Change> changes;
  for (int i = 0; i < 40; ++i) {
    Change c;
    c.set_kind(Change::KIND_PUT);
    c.set_key(absl::StrCat("k/", absl::Dec(i, absl::kZeroPad3)));
    c.set_value(std::string(100, 'a' + i % 26));
    changes.push_back(c);
    if (i == 19) {
      Change big;
      big.set_kind(Change::KIND_PUT);
      big.set_key("k/019+");
      big.set_value(large);
      changes.push_back(big);
    }
  }
  std::vector<const Change*> pointers;
  uint64_t v = first_version;
  for (auto& c : changes) {
    c.set_version(v++);
    pointers.push_back(&c);
  }
  return store->Apply(pointers);
}

int CountBlobFiles(const std::string& dir) {
  int n = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().extension() == ".blob") ++n;
  }
  return n;
}

// Bytes of table blocks read from files by one Get of `key`.
uint64_t BlockBytesRead(VersionedStore* store, const std::string& key) {
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  PinnedRecord r;
  auto found = store->Get(key, &r);
  const uint64_t bytes = rocksdb::get_perf_context()->block_read_byte;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  EXPECT_TRUE(found.ok() && *found) << key;
  return bytes;
}

TEST(BlobFiles, SmallNeighboursOfALargeValueReadOnlySmallBlocks) {
  const std::string large(8 << 20, 'L');
  for (uint64_t min_blob : {uint64_t{0}, uint64_t{64 << 10}}) {
    testing::TempDir dir;
    {
      auto store = Open(dir.path(), min_blob);
      ASSERT_TRUE(Fill(store.get(), 1, large).ok());
    }  // closing flushes the memtables into tables (and blob files)
    auto store = Open(dir.path(), min_blob);
    // Twice: the second read is the steady state (whatever the block cache kept).
    BlockBytesRead(store.get(), "k/018");
    const uint64_t bytes = BlockBytesRead(store.get(), "k/018");
    std::printf(
        "min_blob_bytes %llu: reading a neighbour of an 8 MiB value read %llu bytes of "
        "blocks; %d blob file(s)\n",
        static_cast<unsigned long long>(min_blob), static_cast<unsigned long long>(bytes),
        CountBlobFiles(dir.path()));
    if (min_blob > 0) {
      EXPECT_GE(CountBlobFiles(dir.path()), 1);
      EXPECT_LT(bytes, 64u << 10);
    }
    PinnedRecord r;
    ASSERT_TRUE(*store->Get("k/019+", &r));
    EXPECT_EQ(r.view.value.size(), large.size());
  }
}

TEST(BlobFiles, DirectoriesOpenWithBlobFilesTurnedOnAndOffAgain) {
  testing::TempDir dir;
  const std::string large(300 << 10, 'x');
  {
    auto store = Open(dir.path(), 0);  // as written before blob files were used
    ASSERT_TRUE(Fill(store.get(), 1, large).ok());
  }
  EXPECT_EQ(CountBlobFiles(dir.path()), 0);
  {
    auto store = Open(dir.path(), 64 << 10);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->head_version(), 41u);
    PinnedRecord r;
    ASSERT_TRUE(*store->Get("k/019+", &r));
    EXPECT_EQ(r.view.value, large);
    ASSERT_TRUE(Fill(store.get(), 42, large + "2").ok());
  }
  EXPECT_GE(CountBlobFiles(dir.path()), 1);
  // Turned off again: the blob files written meanwhile stay readable.
  auto store = Open(dir.path(), 0);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->head_version(), 82u);
  PinnedRecord r;
  ASSERT_TRUE(*store->Get("k/019+", &r));
  EXPECT_EQ(r.view.value, large + "2");
  ASSERT_TRUE(*store->Get("k/000", &r));
  EXPECT_EQ(r.view.version, 42u);
  std::vector<kvstore::v1::Change> log;
  ASSERT_TRUE(store->log().Read(1, 100, 64 << 20, &log).ok());
  ASSERT_EQ(log.size(), 82u);
  EXPECT_EQ(log[20].value(), large);
  EXPECT_EQ(log[61].value(), large + "2");
}

}  // namespace
}  // namespace kv::server

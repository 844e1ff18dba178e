#include "server/storage/versioned_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "replication/checksum.h"
#include "tests/support/temp_dir.h"

namespace kv::server {

using kvstore::v1::Change;
using kvstore::v1::Entry;
namespace {

Change Put(uint64_t version, const std::string& key, const std::string& value,
           int64_t expiration = 0) {
  Change c;
  c.set_version(version);
  c.set_kind(Change::KIND_PUT);
  c.set_key(key);
  c.set_value(value);
  c.set_expiration(expiration);
  return c;
}

Change Del(uint64_t version, const std::string& key) {
  Change c;
  c.set_version(version);
  c.set_kind(Change::KIND_DELETE);
  c.set_key(key);
  return c;
}

std::unique_ptr<VersionedStore> OpenStore(const std::string& path) {
  StoreOptions options;
  options.path = path;
  options.sync = false;
  options.disk.min_free_bytes = 0;  // whatever the test machine's disk holds
  auto store = VersionedStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

absl::Status ApplyAll(VersionedStore* store, const std::vector<Change>& changes) {
  std::vector<const Change*> pointers;
  for (const auto& c : changes) pointers.push_back(&c);
  return store->Apply(pointers);
}

TEST(VersionedStore, AppliesChangesAndKeepsTheHeadAcrossReopen) {
  testing::TempDir dir;
  {
    auto store = OpenStore(dir.path());
    ASSERT_TRUE(ApplyAll(store.get(), {Put(1, "a", "1"), Put(2, "b", "2"), Del(3, "a")}).ok());
    EXPECT_EQ(store->head_version(), 3u);
    PinnedRecord r;
    EXPECT_FALSE(*store->Get("a", &r));
    ASSERT_TRUE(*store->Get("b", &r));
    EXPECT_EQ(r.view.value, "2");
    EXPECT_EQ(r.view.version, 2u);
  }
  auto store = OpenStore(dir.path());
  EXPECT_EQ(store->head_version(), 3u);
  EXPECT_EQ(store->log().oldest(), 1u);
  EXPECT_EQ(store->log().newest(), 3u);
  std::vector<Change> log;
  ASSERT_TRUE(store->log().Read(1, 10, 1 << 20, &log).ok());
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[2].kind(), Change::KIND_DELETE);
  EXPECT_EQ(log[2].key(), "a");
}

TEST(VersionedStore, RejectsGapsAndReordering) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(ApplyAll(store.get(), {Put(1, "a", "1")}).ok());
  EXPECT_FALSE(ApplyAll(store.get(), {Put(3, "a", "3")}).ok());
  EXPECT_FALSE(ApplyAll(store.get(), {Put(1, "a", "again")}).ok());
  EXPECT_FALSE(ApplyAll(store.get(), {Put(2, "a", "2"), Put(4, "b", "4")}).ok());
  // Nothing of the rejected batches was written.
  EXPECT_EQ(store->head_version(), 1u);
  PinnedRecord r;
  ASSERT_TRUE(*store->Get("a", &r));
  EXPECT_EQ(r.view.value, "1");
}

TEST(VersionedStore, SecondOpenOfTheSameDirectoryIsAClearError) {
  testing::TempDir dir;
  auto first = OpenStore(dir.path());
  StoreOptions options;
  options.path = dir.path();
  auto second = VersionedStore::Open(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use by another process"), std::string::npos);
}

TEST(VersionedStore, ListsByPrefixInPagesAndSkipsExpiredKeys) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<Change> changes;
  uint64_t v = 0;
  for (int i = 0; i < 25; ++i) changes.push_back(Put(++v, "user/" + std::to_string(100 + i), "x"));
  changes.push_back(Put(++v, "user/expired", "x", /*expiration=*/1000));
  changes.push_back(Put(++v, "users", "not in prefix user/"));
  changes.push_back(Put(++v, "a", "before"));
  ASSERT_TRUE(ApplyAll(store.get(), changes).ok());

  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::vector<Entry> entries;
    bool more = false;
    ASSERT_TRUE(store->List("user/", cursor, 10, false, /*now=*/2000, &entries, &more).ok());
    for (const auto& e : entries) {
      seen.push_back(e.key());
      EXPECT_TRUE(e.value().empty());
    }
    if (!more) break;
    cursor = entries.back().key();
  }
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(seen.front(), "user/100");
  EXPECT_EQ(seen.back(), "user/124");

  // The same key is not expired for an earlier clock.
  std::vector<Entry> entries;
  bool more = false;
  ASSERT_TRUE(store->List("user/e", "", 10, true, /*now=*/999, &entries, &more).ok());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].value(), "x");
}

TEST(VersionedStore, PrefixOfAllFfBytesListsToTheEnd) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(ApplyAll(store.get(), {Put(1,
                                         "\xff\xff"
                                         "a",
                                         "1"),
                                     Put(2, "\xff\xff\xff", "2")})
                  .ok());
  std::vector<Entry> entries;
  bool more = false;
  ASSERT_TRUE(store->List("\xff\xff", "", 10, false, 0, &entries, &more).ok());
  EXPECT_EQ(entries.size(), 2u);
}

TEST(VersionedStore, SnapshotCursorSeesOneConsistentVersion) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(ApplyAll(store.get(), {Put(1, "a", "1"), Put(2, "b", "2")}).ok());
  auto cursor = store->NewSnapshotCursor();
  ASSERT_TRUE(ApplyAll(store.get(), {Put(3, "c", "3"), Del(4, "a")}).ok());
  EXPECT_EQ(cursor->version(), 2u);
  std::vector<Entry> entries, missing;
  auto more = cursor->Next(1 << 20, 0, &entries, &missing);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].key(), "a");
  EXPECT_EQ(entries[1].key(), "b");
}

TEST(VersionedStore, SnapshotInstallReplacesEverything) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(ApplyAll(store.get(), {Put(1, "old", "1")}).ok());
  ASSERT_TRUE(store->BeginSnapshotInstall().ok());
  EXPECT_TRUE(store->snapshot_incomplete());
  Entry e;
  e.set_key("new");
  e.set_value("v");
  e.set_version(40);
  Entry m;
  m.set_key("big");
  m.set_version(41);
  ASSERT_TRUE(store->InstallSnapshotEntries({&e}, {&m}).ok());
  ASSERT_TRUE(store->FinishSnapshotInstall(42, "cluster-x").ok());
  EXPECT_FALSE(store->snapshot_incomplete());
  EXPECT_EQ(store->head_version(), 42u);
  EXPECT_EQ(store->cluster_id(), "cluster-x");
  EXPECT_EQ(store->log().oldest(), 43u);
  EXPECT_EQ(store->log().entries(), 0u);
  PinnedRecord r;
  EXPECT_FALSE(*store->Get("old", &r));
  ASSERT_TRUE(*store->Get("new", &r));
  EXPECT_EQ(r.view.version, 40u);
  ASSERT_TRUE(*store->Get("big", &r));
  EXPECT_TRUE(r.view.value_missing);
  // The stream continues from the snapshot's version.
  ASSERT_TRUE(ApplyAll(store.get(), {Put(43, "new", "v2")}).ok());
  EXPECT_EQ(store->log().oldest(), 43u);
}

TEST(VersionedStore, FetchedValueInstallsOnlyOverTheSameMissingVersion) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  Change inv;
  inv.set_version(1);
  inv.set_kind(Change::KIND_INVALIDATE);
  inv.set_key("big");
  ASSERT_TRUE(ApplyAll(store.get(), {inv}).ok());
  std::vector<std::pair<std::string, uint64_t>> missing;
  ASSERT_TRUE(store->ScanMissingValues(10, &missing).ok());
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_FALSE(*store->InstallFetchedValue("big", 2, "wrong version"));
  EXPECT_TRUE(*store->InstallFetchedValue("big", 1, "value"));
  EXPECT_FALSE(*store->InstallFetchedValue("big", 1, "again"));  // no longer missing
  PinnedRecord r;
  ASSERT_TRUE(*store->Get("big", &r));
  EXPECT_FALSE(r.view.value_missing);
  EXPECT_EQ(r.view.value, "value");
  // A newer change wins over a fetch of an older version.
  inv.set_version(2);
  ASSERT_TRUE(ApplyAll(store.get(), {inv}).ok());
  ASSERT_TRUE(ApplyAll(store.get(), {Put(3, "big", "newest")}).ok());
  EXPECT_FALSE(*store->InstallFetchedValue("big", 2, "stale"));
  ASSERT_TRUE(*store->Get("big", &r));
  EXPECT_EQ(r.view.value, "newest");
}

TEST(VersionedStore, MultiGetReadsEveryKeyAtTheReadPoint) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  const std::string binary("k\0\xff", 3);
  std::vector<Change> changes;
  for (int i = 0; i < 20; ++i) {  // more than PinnedRecords holds inline
    changes.push_back(Put(i + 1, absl::StrCat("k", i), absl::StrCat("v", i)));
  }
  changes.push_back(Put(21, binary, std::string("v\0", 2)));
  ASSERT_TRUE(ApplyAll(store.get(), changes).ok());
  const ReadPoint point = store->NewReadPoint();
  // After the point: a whole commit the point must not show any part of.
  ASSERT_TRUE(ApplyAll(store.get(), {Put(22, "k0", "new"), Del(23, "k19")}).ok());
  google::protobuf::RepeatedPtrField<std::string> keys;
  for (int i = 0; i < 20; ++i) *keys.Add() = absl::StrCat("k", i);
  *keys.Add() = binary;
  *keys.Add() = "nope";
  *keys.Add() = "k1";  // twice
  PinnedRecords records;
  ASSERT_TRUE(store->MultiGet(keys, point, &records).ok());
  ASSERT_EQ(records.found.size(), 23u);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(records.found[i]) << i;
    EXPECT_EQ(records.views[i].value, absl::StrCat("v", i));
    EXPECT_EQ(records.views[i].version, static_cast<uint64_t>(i + 1));
  }
  ASSERT_TRUE(records.found[20]);
  EXPECT_EQ(records.views[20].value, std::string("v\0", 2));
  EXPECT_FALSE(records.found[21]);
  ASSERT_TRUE(records.found[22]);
  EXPECT_EQ(records.views[22].value, "v1");
  // At a new point: the later commit, whole.
  ASSERT_TRUE(store->MultiGet(keys, store->NewReadPoint(), &records).ok());
  EXPECT_EQ(records.views[0].value, "new");
  EXPECT_FALSE(records.found[19]);
  EXPECT_TRUE(records.found[20]);
}

TEST(VersionedStore, ExpiryIndexFindsDueKeysInOrder) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(ApplyAll(store.get(),
                       {Put(1, "late", "x", 300), Put(2, "early", "x", 100), Put(3, "never", "x")})
                  .ok());
  std::vector<ExpiredKey> due;
  ASSERT_TRUE(store->ScanExpired(50, 10, &due).ok());
  EXPECT_TRUE(due.empty());
  ASSERT_TRUE(store->ScanExpired(200, 10, &due).ok());
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key, "early");
  EXPECT_EQ(due[0].version, 2u);
  ASSERT_TRUE(store->DropExpiryIndex(due).ok());
  due.clear();
  ASSERT_TRUE(store->ScanExpired(1000, 10, &due).ok());
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key, "late");
}

TEST(VersionedStore, SnapshotCursorContinuesAcrossChunksWhileWritesGoOn) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<Change> changes;
  for (int i = 0; i < 100; ++i) {
    changes.push_back(Put(i + 1, absl::StrCat("k", 1000 + i), std::string(100, 'v')));
  }
  ASSERT_TRUE(ApplyAll(store.get(), changes).ok());
  auto cursor = store->NewSnapshotCursor();
  std::vector<std::string> keys;
  uint64_t next = 101;
  for (int round = 0; round < 1000; ++round) {
    std::vector<Entry> entries, missing;
    auto more = cursor->Next(1000, 0, &entries, &missing);
    ASSERT_TRUE(more.ok()) << more.status();
    for (const auto& e : entries) keys.push_back(e.key());
    // Writes between chunks (new keys, deletions) are not seen: the cursor reads its snapshot.
    ASSERT_TRUE(ApplyAll(store.get(), {Put(next, absl::StrCat("k", 1000 + round, "x"), "new"),
                                       Del(next + 1, absl::StrCat("k", 1099 - round))})
                    .ok());
    next += 2;
    if (!*more) break;
  }
  ASSERT_EQ(keys.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(keys[i], absl::StrCat("k", 1000 + i));
}

// A store whose filesystem has `free` bytes (the test sets it) and a 64 MiB reserve.
std::unique_ptr<VersionedStore> OpenStoreWithDisk(const std::string& path,
                                                  std::shared_ptr<std::atomic<uint64_t>> free) {
  StoreOptions options;
  options.path = path;
  options.sync = false;
  options.disk.min_free_bytes = 64 << 20;
  options.disk.refresh_interval = absl::ZeroDuration();
  options.disk.free_space = [free](const std::string&) -> absl::StatusOr<uint64_t> {
    return free->load();
  };
  auto store = VersionedStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

TEST(VersionedStore, WritesBelowTheDiskReserveAreRefusedAndWriteNothing) {
  testing::TempDir dir;
  auto free = std::make_shared<std::atomic<uint64_t>>(1ull << 30);
  auto store = OpenStoreWithDisk(dir.path(), free);
  ASSERT_TRUE(ApplyAll(store.get(), {Put(1, "a", "1")}).ok());
  EXPECT_TRUE(store->WritesAccepted().ok());

  free->store(10 << 20);
  absl::Status s = ApplyAll(store.get(), {Put(2, "a", "2")});
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_THAT(std::string(s.message()),
              ::testing::HasSubstr("below --min-free-disk 64 MiB; writes resume when space "
                                   "returns"));
  EXPECT_TRUE(absl::IsResourceExhausted(store->WritesAccepted()));
  EXPECT_TRUE(store->disk_state().exceeded);
  EXPECT_EQ(store->head_version(), 1u);
  EXPECT_EQ(store->log().newest(), 1u);
  PinnedRecord r;
  ASSERT_TRUE(*store->Get("a", &r));
  EXPECT_EQ(r.view.value, "1");
  // A snapshot's wipe may still run (it frees space); its entries may not.
  EXPECT_TRUE(store->BeginSnapshotInstall().ok());
  Entry e;
  e.set_key("b");
  e.set_value("v");
  e.set_version(7);
  EXPECT_TRUE(absl::IsResourceExhausted(store->InstallSnapshotEntries({&e}, {})));

  // Space returns: writes go on, nothing to reset.
  free->store(1ull << 30);
  EXPECT_TRUE(store->WritesAccepted().ok());
  EXPECT_TRUE(store->InstallSnapshotEntries({&e}, {}).ok());
  EXPECT_TRUE(store->FinishSnapshotInstall(7, "c").ok());
  EXPECT_TRUE(ApplyAll(store.get(), {Put(8, "a", "8")}).ok());
  EXPECT_EQ(store->head_version(), 8u);
}

// The running checksum (replication/checksum.h) equals a full recomputation after puts,
// replacements, deletions and invalidations, survives a reopen, and is rebuilt by a snapshot.
TEST(VersionedStore, ChecksumFollowsEveryChangeAndCatchesCorruption) {
  testing::TempDir dir;
  uint64_t at_central = 0;
  {
    auto store = OpenStore(dir.path());
    Change inv;
    inv.set_version(5);
    inv.set_kind(Change::KIND_INVALIDATE);
    inv.set_key("big");
    inv.set_value_hash(replication::ValueHash("the big value"));
    // Two writes of one key in one batch: the second replaces the first's term.
    ASSERT_TRUE(ApplyAll(store.get(), {Put(1, "a", "1"), Put(2, "b", "2"), Put(3, "a", "3"),
                                       Del(4, "b"), inv, Put(6, "c", "x", /*expiration=*/1000)})
                    .ok());
    auto scan = store->ScanChecksum();
    ASSERT_TRUE(scan.ok()) << scan.status();
    EXPECT_EQ(scan->version, 6u);
    EXPECT_EQ(scan->records, 3u);
    EXPECT_EQ(scan->recomputed, scan->persisted);
    EXPECT_EQ(store->checksum_state().checksum, scan->persisted);
    EXPECT_FALSE(store->checksum_state().central_known);  // the changes carried none
    // Fetching the value does not change the checksum: the record counted through its hash.
    const uint64_t before = store->checksum_state().checksum;
    EXPECT_FALSE(store->InstallFetchedValue("big", 5, "another value").ok());
    EXPECT_TRUE(*store->InstallFetchedValue("big", 5, "the big value"));
    EXPECT_EQ(store->ScanChecksum()->recomputed, before);
    // Stamped like the central node's: the change carries the checksum after it.
    Change put = Put(7, "d", "4");
    ASSERT_TRUE(store->ApplyStamped({&put}).ok());
    EXPECT_TRUE(put.has_checksum());
    EXPECT_EQ(put.checksum(), store->checksum_state().checksum);
    EXPECT_EQ(store->checksum_state().central, put.checksum());
    at_central = put.checksum();
  }
  {
    auto store = OpenStore(dir.path());
    EXPECT_EQ(store->checksum_state().checksum, at_central);
    EXPECT_TRUE(store->checksum_state().central_known);
    // A value changed behind the store's back shows in a recomputation only.
    ASSERT_TRUE(store->CorruptValueForTesting("a", "X").ok());
    auto scan = store->ScanChecksum();
    ASSERT_TRUE(scan.ok());
    EXPECT_NE(scan->recomputed, scan->persisted);
    // A snapshot of the same records (from a second store) adds up to the same checksum.
    testing::TempDir other_dir;
    auto other = OpenStore(other_dir.path());
    ASSERT_TRUE(ApplyAll(other.get(), {Put(1, "x", "gone")}).ok());
    ASSERT_TRUE(other->BeginSnapshotInstall().ok());
    std::vector<Entry> entries, missing;
    std::vector<uint64_t> hashes;
    auto cursor = store->NewSnapshotCursor();
    while (true) {
      auto more = cursor->Next(1 << 20, /*now_unix=*/5000, &entries, &missing, &hashes);
      ASSERT_TRUE(more.ok());
      if (!*more) break;
    }
    EXPECT_EQ(entries.size(), 4u);  // expired "c" travels too
    std::vector<const Entry*> e, m;
    for (const auto& x : entries) e.push_back(&x);
    for (const auto& x : missing) m.push_back(&x);
    ASSERT_TRUE(other->InstallSnapshotEntries(e, m, hashes).ok());
    other->SetSnapshotCentralChecksum(cursor->checksum());
    ASSERT_TRUE(other->FinishSnapshotInstall(cursor->version(), "cluster").ok());
    EXPECT_EQ(other->checksum_state().checksum, scan->recomputed);
    EXPECT_EQ(other->checksum_state().central, at_central);
  }
}

}  // namespace
}  // namespace kv::server

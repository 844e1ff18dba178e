// MemoryStore: applying the stream (puts, deletes, invalidations, commits), snapshots, checksums,
// ordered listing across shards, and multi-key reads that never see half a batch.

#include "client/local_replica/memory_store.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "replication/checksum.h"

namespace kv::replica {
namespace {

using kvstore::v1::Change;
using ChangeList = std::vector<std::shared_ptr<const Change>>;

std::shared_ptr<const Change> PutChange(uint64_t version, const std::string& key,
                                        const std::string& value, int64_t expiration = 0) {
  auto c = std::make_shared<Change>();
  c->set_version(version);
  c->set_kind(Change::KIND_PUT);
  c->set_key(key);
  c->set_value(value);
  c->set_expiration(expiration);
  return c;
}

std::shared_ptr<const Change> DeleteChange(uint64_t version, const std::string& key) {
  auto c = std::make_shared<Change>();
  c->set_version(version);
  c->set_kind(Change::KIND_DELETE);
  c->set_key(key);
  return c;
}

uint64_t Term(const std::string& key, uint64_t version, const std::string& value,
              int64_t expiration = 0) {
  return replication::RecordTerm(key, version, expiration, "", replication::ValueHash(value));
}

// A store bootstrapped from an empty snapshot at version 0.
std::unique_ptr<MemoryStore> Bootstrapped(int shards = 16) {
  auto store = std::make_unique<MemoryStore>(shards);
  EXPECT_TRUE(store->BeginSnapshot().ok());
  EXPECT_TRUE(store->FinishSnapshot(0, "cluster-1").ok());
  return store;
}

TEST(MemoryStoreTest, NeedsABootstrapFirst) {
  MemoryStore store;
  EXPECT_TRUE(store.NeedsBootstrap());
  EXPECT_FALSE(store.usable());
  ASSERT_TRUE(store.BeginSnapshot().ok());
  kvstore::v1::SnapshotChunk chunk;
  auto* e = chunk.add_entries();
  e->set_key("a");
  e->set_value("1");
  e->set_version(3);
  ASSERT_TRUE(store.ApplySnapshotChunk(chunk).ok());
  EXPECT_FALSE(store.usable()) << "not served before the snapshot is finished";
  ASSERT_TRUE(store.FinishSnapshot(7, "cluster-1").ok());
  EXPECT_TRUE(store.usable());
  EXPECT_EQ(store.applied_version(), 7u);
  EXPECT_EQ(store.cluster_id(), "cluster-1");
  StoredRecord r;
  ASSERT_TRUE(store.Get("a", &r));
  EXPECT_EQ(r.value, "1");
  EXPECT_EQ(r.version, 3u);
}

TEST(MemoryStoreTest, AppliesPutsDeletesAndExpirations) {
  auto store = Bootstrapped();
  ASSERT_TRUE(store->Apply({PutChange(1, "k", "v1"), PutChange(2, "e", "x", 1'900'000'000)}).ok());
  StoredRecord r;
  ASSERT_TRUE(store->Get("k", &r));
  EXPECT_EQ(r.value, "v1");
  ASSERT_TRUE(store->Get("e", &r));
  EXPECT_EQ(r.expiration, 1'900'000'000);
  ASSERT_TRUE(store->Apply({PutChange(3, "k", std::string(1000, 'z'))}).ok());
  ASSERT_TRUE(store->Get("k", &r));
  EXPECT_EQ(r.value, std::string(1000, 'z'));
  EXPECT_EQ(r.version, 3u);
  EXPECT_EQ(r.expiration, 0);
  ASSERT_TRUE(store->Apply({DeleteChange(4, "k")}).ok());
  EXPECT_FALSE(store->Get("k", &r));
  EXPECT_EQ(store->applied_version(), 4u);
  EXPECT_EQ(store->key_count(), 1u);
  EXPECT_EQ(store->payload_bytes(), 2u);
}

TEST(MemoryStoreTest, BinaryKeysAndValuesSurvive) {
  auto store = Bootstrapped();
  const std::string key("k\0\xff", 3), value("\0\0v\n", 4);
  ASSERT_TRUE(store->Apply({PutChange(1, key, value)}).ok());
  StoredRecord r;
  ASSERT_TRUE(store->Get(key, &r));
  EXPECT_EQ(r.key, key);
  EXPECT_EQ(r.value, value);
  EXPECT_FALSE(store->Get(std::string("k\0", 2), &r));
}

// The header keeps key and metadata sizes in 16 bits: a central node configured with
// --max-metadata-bytes above 64 KiB must not get records cut short, nor half a batch applied.
TEST(MemoryStoreTest, ARecordTooLargeForItsHeaderIsRefusedWithItsWholeBatch) {
  auto store = Bootstrapped();
  auto big = std::const_pointer_cast<Change>(PutChange(2, "big", "v"));
  big->set_metadata(std::string(70000, 'm'));
  absl::Status s = store->Apply({PutChange(1, "first", "1"), big});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("70000 bytes of metadata"), std::string::npos) << s;
  StoredRecord r;
  EXPECT_FALSE(store->Get("first", &r)) << "nothing of the batch is applied";
  EXPECT_EQ(store->applied_version(), 0u);

  auto commit = std::make_shared<Change>();
  commit->set_version(1);
  commit->set_kind(Change::KIND_COMMIT);
  auto* part = commit->add_parts();
  part->set_kind(Change::KIND_PUT);
  part->set_key(std::string(70000, 'k'));
  EXPECT_FALSE(store->Apply({commit}).ok()) << "a part of a commit is checked too";

  ASSERT_TRUE(store->BeginSnapshot().ok());
  kvstore::v1::SnapshotChunk chunk;
  auto* e = chunk.add_entries();
  e->set_key("k");
  e->set_metadata(std::string(70000, 'm'));
  EXPECT_FALSE(store->ApplySnapshotChunk(chunk).ok());
}

TEST(MemoryStoreTest, AnInvalidationHoldsTheVersionButNotTheValue) {
  auto store = Bootstrapped();
  auto c = std::make_shared<Change>();
  c->set_version(1);
  c->set_kind(Change::KIND_INVALIDATE);
  c->set_key("big");
  c->set_value_size(1 << 20);
  c->set_value_hash(replication::ValueHash("the value"));
  c->set_checksum(Term("big", 1, "the value"));
  ASSERT_TRUE(store->Apply({c}).ok()) << "the checksum counts the value by its hash";
  StoredRecord r;
  ASSERT_TRUE(store->Get("big", &r));
  EXPECT_TRUE(r.value_missing);
  EXPECT_EQ(r.version, 1u);
  EXPECT_TRUE(r.value.empty());
}

TEST(MemoryStoreTest, ACommitAppliesEveryPartAtItsVersion) {
  auto store = Bootstrapped();
  ASSERT_TRUE(store->Apply({PutChange(1, "acct/c", "5")}).ok());
  auto commit = std::make_shared<Change>();
  commit->set_version(2);
  commit->set_kind(Change::KIND_COMMIT);
  auto* a = commit->add_parts();
  a->set_kind(Change::KIND_PUT);
  a->set_key("acct/a");
  a->set_value("10");
  auto* b = commit->add_parts();
  b->set_kind(Change::KIND_PUT);
  b->set_key("acct/b");
  b->set_value("20");
  auto* del = commit->add_parts();
  del->set_kind(Change::KIND_DELETE);
  del->set_key("acct/c");
  commit->set_checksum(Term("acct/a", 2, "10") + Term("acct/b", 2, "20"));
  ASSERT_TRUE(store->Apply({commit}).ok());
  StoredRecord r;
  ASSERT_TRUE(store->Get("acct/a", &r));
  EXPECT_EQ(r.version, 2u);
  ASSERT_TRUE(store->Get("acct/b", &r));
  EXPECT_EQ(r.version, 2u);
  EXPECT_FALSE(store->Get("acct/c", &r));
  EXPECT_EQ(store->applied_version(), 2u);
}

TEST(MemoryStoreTest, AChecksumMismatchMakesTheCopySuspectUntilASnapshotMatches) {
  auto store = Bootstrapped();
  auto good = std::const_pointer_cast<Change>(PutChange(1, "a", "1"));
  good->set_checksum(Term("a", 1, "1"));
  ASSERT_TRUE(store->Apply({good}).ok());
  EXPECT_TRUE(store->usable());
  auto bad = std::const_pointer_cast<Change>(PutChange(2, "b", "2"));
  bad->set_checksum(12345);
  EXPECT_FALSE(store->Apply({bad}).ok());
  EXPECT_FALSE(store->usable());
  EXPECT_TRUE(store->NeedsBootstrap());
  EXPECT_EQ(store->mismatches(), 1u);
  EXPECT_NE(store->last_mismatch().find("checksum mismatch after version 2"), std::string::npos);

  ASSERT_TRUE(store->BeginSnapshot().ok());
  kvstore::v1::SnapshotChunk chunk;
  auto* e = chunk.add_entries();
  e->set_key("a");
  e->set_value("1");
  e->set_version(1);
  chunk.set_checksum(Term("a", 1, "1") + 1);  // a snapshot that does not add up either
  ASSERT_TRUE(store->ApplySnapshotChunk(chunk).ok());
  EXPECT_FALSE(store->FinishSnapshot(2, "cluster-1").ok());
  EXPECT_FALSE(store->usable());

  ASSERT_TRUE(store->BeginSnapshot().ok());
  chunk.set_checksum(Term("a", 1, "1"));
  ASSERT_TRUE(store->ApplySnapshotChunk(chunk).ok());
  ASSERT_TRUE(store->FinishSnapshot(2, "cluster-1").ok());
  EXPECT_TRUE(store->usable());
  StoredRecord r;
  EXPECT_FALSE(store->Get("b", &r)) << "the snapshot replaced everything";
}

TEST(MemoryStoreTest, ListsInKeyOrderAcrossShardsWithCursorsAndExpiry) {
  auto store = Bootstrapped(/*shards=*/7);
  ChangeList changes;
  std::map<std::string, std::string> model;
  uint64_t v = 0;
  for (int i = 0; i < 300; ++i) {
    std::string key = absl::StrFormat("%s/%03d", i % 3 == 0 ? "b" : "a", i);
    model[key] = absl::StrCat("v", i);
    changes.push_back(PutChange(++v, key, model[key]));
  }
  changes.push_back(PutChange(++v, "a/expired", "x", /*expiration=*/1000));
  ASSERT_TRUE(store->Apply(changes).ok());
  const int64_t now = 2000;

  std::vector<std::string> listed;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    std::vector<StoredRecord> out;
    bool more = false;
    uint64_t as_of = 0;
    store->List("a/", cursor, 17, /*with_values=*/page % 2 == 0, now, &out, &more, &as_of);
    EXPECT_EQ(as_of, v);
    for (const auto& r : out) {
      listed.push_back(r.key);
      EXPECT_EQ(r.value.empty(), page % 2 != 0);
    }
    if (!more) break;
    cursor = out.back().key;
  }
  std::vector<std::string> expected;
  for (const auto& [k, value] : model) {
    if (k.rfind("a/", 0) == 0) expected.push_back(k);
  }
  EXPECT_EQ(listed, expected);

  std::vector<StoredRecord> all;
  bool more = true;
  uint64_t as_of = 0;
  store->List("", "", 1000, false, now, &all, &more, &as_of);
  EXPECT_EQ(all.size(), 300u);
  EXPECT_FALSE(more);
}

// A writer moves amounts between accounts in batches whose total is constant; readers doing
// BatchGet and List never see a batch half applied.
TEST(MemoryStoreTest, MultiKeyReadsNeverSeeHalfABatch) {
  auto store = Bootstrapped(/*shards=*/8);
  constexpr int kAccounts = 16;
  std::vector<std::string> keys;
  ChangeList init;
  uint64_t v = 0;
  for (int i = 0; i < kAccounts; ++i) {
    keys.push_back(absl::StrFormat("acct/%02d", i));
    init.push_back(PutChange(++v, keys.back(), "100"));
  }
  ASSERT_TRUE(store->Apply(init).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0}, reads{0};
  auto check_sum = [&](const std::vector<std::string>& values) {
    int sum = 0;
    for (const auto& s : values) sum += std::stoi(s);
    if (sum != kAccounts * 100) torn.fetch_add(1);
    reads.fetch_add(1);
  };
  std::thread batch_reader([&] {
    while (!stop.load()) {
      std::vector<std::optional<StoredRecord>> out;
      uint64_t as_of = 0;
      store->BatchGet(keys, &out, &as_of);
      std::vector<std::string> values;
      for (auto& r : out) values.push_back(r ? r->value : "0");
      check_sum(values);
    }
  });
  std::thread list_reader([&] {
    while (!stop.load()) {
      std::vector<StoredRecord> out;
      bool more = false;
      uint64_t as_of = 0;
      store->List("acct/", "", 100, true, 0, &out, &more, &as_of);
      std::vector<std::string> values;
      for (auto& r : out) values.push_back(r.value);
      check_sum(values);
    }
  });
  std::vector<int> balance(kAccounts, 100);
  const absl::Time end = absl::Now() + absl::Milliseconds(700);
  for (int round = 0; round < 20000 && absl::Now() < end; ++round) {
    int from = round % kAccounts, to = (round * 7 + 3) % kAccounts;
    if (from == to) continue;
    balance[from] -= 5;
    balance[to] += 5;
    ASSERT_TRUE(store
                    ->Apply({PutChange(v + 1, keys[from], std::to_string(balance[from])),
                             PutChange(v + 2, keys[to], std::to_string(balance[to]))})
                    .ok());
    v += 2;
  }
  stop.store(true);
  batch_reader.join();
  list_reader.join();
  EXPECT_GT(reads.load(), 10);
  EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " multi-key reads";
}

// What a value must read for `key` at `version`: a reader can tell a record it copied whole from
// one torn or reused under it. Its size is `extra` plus 100-599 bytes, which vary with the
// version, so overwrites move a key between size classes.
std::string ValueFor(const std::string& key, uint64_t version, size_t extra = 0) {
  const std::string unit = absl::StrFormat("%s@%012d;", key, version);  // fixed width
  std::string value;
  while (value.size() < extra + 100 + version % 500) value += unit;
  return value;
}

size_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// Applies kChurnKeys random puts (3 in 4) and deletes over kChurnKeys keys, in batches of 500.
constexpr int kChurnKeys = 20000;
std::string ChurnKey(int i) { return absl::StrFormat("churn/%06d", i); }
void Churn(MemoryStore* store, std::mt19937_64* rng, uint64_t* v, size_t extra) {
  ChangeList batch;
  for (int n = 0; n < kChurnKeys; ++n) {
    const std::string key = ChurnKey(static_cast<int>((*rng)() % kChurnKeys));
    ++*v;
    batch.push_back((*rng)() % 4 == 0 ? DeleteChange(*v, key)
                                      : PutChange(*v, key, ValueFor(key, *v, extra)));
    if (batch.size() == 500 || n == kChurnKeys - 1) {
      ASSERT_TRUE(store->Apply(batch).ok());
      batch.clear();
    }
  }
}

// Records come from the store's slab allocator: overwrites and deletes reuse their memory, so a
// long stream of them over the same keys does not grow the heap, and deleting every key gives
// the records' memory back.
TEST(MemoryStoreTest, OverwritesAndDeletesDoNotGrowTheHeap) {
  auto store = Bootstrapped();
  std::mt19937_64 rng(11);
  uint64_t v = 0;
  const size_t empty = HeapInUse();
  for (int r = 0; r < 5; ++r) Churn(store.get(), &rng, &v, 0);
  const size_t settled = HeapInUse();
  for (int r = 0; r < 25; ++r) Churn(store.get(), &rng, &v, 0);
  const size_t later = HeapInUse();
  EXPECT_LE(later, settled + (settled - empty) / 20)
      << "empty " << empty << ", after 5 rounds " << settled << ", after 30 " << later;

  ChangeList deletes;
  for (int i = 0; i < kChurnKeys; ++i) deletes.push_back(DeleteChange(++v, ChurnKey(i)));
  ASSERT_TRUE(store->Apply(deletes).ok());
  deletes.clear();
  EXPECT_EQ(store->key_count(), 0u);
  // What is left is the hash tables, which keep their size, and chunks glibc keeps in its
  // per-thread cache (mallinfo counts them as in use).
  EXPECT_LT(HeapInUse() - empty, (settled - empty) / 4)
      << "empty " << empty << ", full " << settled << ", all deleted " << HeapInUse();
}

// When every record moves to other size classes (values 200 bytes longer), the old classes'
// slabs are given back as overwrites empty them: the heap peaks while both are held, then
// settles where it would have for the new sizes alone. (Live records are not moved, so a slab
// goes back only when its last record is overwritten or deleted.)
TEST(MemoryStoreTest, SlabsOfSizesNoLongerWrittenAreGivenBackAsTheyEmpty) {
  auto store = Bootstrapped();
  std::mt19937_64 rng(12);
  uint64_t v = 0;
  const size_t empty = HeapInUse();
  for (int r = 0; r < 5; ++r) Churn(store.get(), &rng, &v, 0);
  const size_t before = HeapInUse() - empty;
  for (int r = 0; r < 15; ++r) Churn(store.get(), &rng, &v, 200);
  const size_t shifted = HeapInUse() - empty;

  auto fresh = Bootstrapped();  // the same stream of the new sizes only
  std::mt19937_64 fresh_rng(13);
  uint64_t fresh_v = 0;
  const size_t fresh_empty = HeapInUse();
  for (int r = 0; r < 5; ++r) Churn(fresh.get(), &fresh_rng, &fresh_v, 200);
  const size_t alone = HeapInUse() - fresh_empty;
  EXPECT_LT(shifted, alone + alone / 10)
      << "old sizes " << before << ", after the shift " << shifted << ", new sizes alone " << alone;
}

// Get takes only its shard's lock for reading while the applier overwrites and deletes: every
// record a reader copies out is whole, of one version, even as its memory is freed and reused.
TEST(MemoryStoreTest, ReadersCopyWholeRecordsWhileTheirMemoryIsReused) {
  auto store = Bootstrapped(/*shards=*/4);
  constexpr int kKeys = 500;
  auto key = [](int i) { return absl::StrFormat("k/%04d", i); };
  uint64_t v = 0;
  ChangeList init;
  for (int i = 0; i < kKeys; ++i) {
    ++v;
    init.push_back(PutChange(v, key(i), ValueFor(key(i), v)));
  }
  ASSERT_TRUE(store->Apply(init).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, found{0};
  auto reader = [&](int seed) {
    std::mt19937_64 rng(seed);
    StoredRecord r;
    while (!stop.load()) {
      const std::string k = key(static_cast<int>(rng() % kKeys));
      if (!store->Get(k, &r)) continue;
      found.fetch_add(1, std::memory_order_relaxed);
      if (r.key != k || r.value != ValueFor(k, r.version)) bad.fetch_add(1);
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);
  std::mt19937_64 rng(3);
  const absl::Time end = absl::Now() + absl::Milliseconds(700);
  while (absl::Now() < end) {
    ChangeList batch;
    for (int n = 0; n < 50; ++n) {
      const int i = static_cast<int>(rng() % kKeys);
      ++v;
      batch.push_back(rng() % 5 == 0 ? DeleteChange(v, key(i))
                                     : PutChange(v, key(i), ValueFor(key(i), v)));
    }
    ASSERT_TRUE(store->Apply(batch).ok());
  }
  stop.store(true);
  r1.join();
  r2.join();
  EXPECT_GT(found.load(), 1000);
  EXPECT_EQ(bad.load(), 0) << "of " << found.load() << " records read";
}

}  // namespace
}  // namespace kv::replica

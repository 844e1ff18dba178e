// A full edge's hot read cache against real RocksDB: the applier (FullEdgeApplier) writes the
// stream into the edge's store and keeps the cache coherent; readers use the full edge's read
// functions (hot_reads.h). The races are forced by the cache's test hook, which runs a change
// at a chosen point of a reader.

#include "server/edge/hot_read_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/time/clock.h"
#include "server/edge/full_edge_applier_fixture.h"
#include "server/edge/hot_reads.h"

namespace kv::server {
namespace {

using HookPoint = HotReadCache::HookPoint;
constexpr int64_t kNow = 1000;

struct Read {
  LocalRead result = LocalRead::kAbsent;
  std::string value;
  uint64_t version = 0;
  uint64_t as_of = 0;
};

class HotReadCacheTest : public FullEdgeApplierTest {
 protected:
  void SetUp() override {
    FullEdgeApplierTest::SetUp();
    HotReadCache::Options options;
    options.capacity_bytes = 8 << 20;
    cache_ = std::make_unique<HotReadCache>(options);
    applier_->SetHotCache(cache_.get());
  }

  void Apply(const std::vector<std::shared_ptr<const kvstore::v1::Change>>& batch) {
    ASSERT_TRUE(applier_->Apply(batch).ok());
  }
  void Put(const std::string& key, const std::string& value, int64_t expiration = 0) {
    kvstore::v1::Change c;
    c.set_kind(kvstore::v1::Change::KIND_PUT);
    c.set_key(key);
    c.set_value(value);
    c.set_expiration(expiration);
    Apply(ChangesAtCentral({c}));
  }
  void Delete(const std::string& key) {
    kvstore::v1::Change c;
    c.set_kind(kvstore::v1::Change::KIND_DELETE);
    c.set_key(key);
    Apply(ChangesAtCentral({c}));
  }

  Read Get(const std::string& key, int64_t now = kNow) {
    Read r;
    kvstore::v1::Entry entry;
    auto read = ReadHot(*cache_, *edge_, key, now, &entry, &r.as_of);
    EXPECT_TRUE(read.ok()) << read.status();
    if (!read.ok()) return r;
    r.result = *read;
    r.value = entry.value();
    r.version = entry.version();
    return r;
  }

  // A BatchGet as FullEdge::BatchGetLocal answers it: from the cache when every key hits at one
  // version, else from the store. Returns the values ("" = not found) and the as-of version.
  std::pair<std::vector<std::string>, uint64_t> BatchGet(const std::vector<std::string>& keys) {
    google::protobuf::RepeatedPtrField<std::string> request(keys.begin(), keys.end());
    kvstore::v1::BatchGetResponse response;
    uint64_t as_of = 0;
    if (auto hit = BatchGetHot(*cache_, *edge_, request, kNow, &response)) {
      as_of = *hit;
    } else {
      auto missing = BatchReadAndOffer(*cache_, *edge_, request, kNow, &response, &as_of);
      EXPECT_TRUE(missing.ok() && !*missing);
    }
    std::vector<std::string> values;
    for (const auto& r : response.results()) values.push_back(r.found() ? r.entry().value() : "");
    return {values, as_of};
  }

  // Runs `change` once, the first time the reader reaches `at` for `key`.
  void OnceAt(HookPoint at, const std::string& key, std::function<void()> change) {
    cache_->SetHookForTesting([this, at, key, change = std::move(change), done = false](
                                  HookPoint point, absl::string_view k) mutable {
      if (done || point != at || k != key) return;
      done = true;
      change();
    });
  }

  std::unique_ptr<HotReadCache> cache_;
};

TEST_F(HotReadCacheTest, HitsAreServedFromMemoryAndMissesFillTheCache) {
  Put("a", "1");
  EXPECT_EQ(cache_->Peek("a"), nullptr);
  Read first = Get("a");
  EXPECT_EQ(first.result, LocalRead::kFound);
  EXPECT_EQ(first.value, "1");
  ASSERT_NE(cache_->Peek("a"), nullptr);
  Read second = Get("a");
  EXPECT_EQ(second.value, "1");
  EXPECT_EQ(second.version, 1u);
  EXPECT_EQ(second.as_of, 1u);
  // A key that does not exist is cached as "not found" at the head it was read at.
  EXPECT_EQ(Get("nothing").result, LocalRead::kAbsent);
  ASSERT_NE(cache_->Peek("nothing"), nullptr);
  EXPECT_FALSE(cache_->Peek("nothing")->found);
  EXPECT_EQ(cache_->Peek("nothing")->version, 1u);
  EXPECT_EQ(Get("nothing").result, LocalRead::kAbsent);
  HotReadCache::Stats stats = cache_->GetStats();
  EXPECT_EQ(stats.cache.hits, 2u);
  EXPECT_EQ(stats.cache.misses, 2u);
  EXPECT_EQ(stats.refused_offers, 0u);
}

// The classic race: a reader misses and reads the old value from the store; the applier then
// writes a newer one (the key is not cached: nothing to update); the reader's insert of the old
// value must be refused.
TEST_F(HotReadCacheTest, AReaderThatReadTheOldValueCannotCacheItAfterAChange) {
  Put("k", "old");
  OnceAt(HookPoint::kBeforeOffer, "k", [this] { Put("k", "new"); });
  Read racing = Get("k");
  EXPECT_EQ(racing.value, "old");  // as of version 1, which it reports: true then
  EXPECT_EQ(racing.as_of, 1u);
  EXPECT_EQ(cache_->Peek("k"), nullptr);
  EXPECT_EQ(cache_->GetStats().refused_offers, 1u);
  Read after = Get("k");
  EXPECT_EQ(after.value, "new");
  EXPECT_EQ(after.version, 2u);
  EXPECT_EQ(Get("k").value, "new");  // now a hit
}

// The cached keys of a batch take their new records before the store's head moves: a reader in
// between hits the new record (its as_of, read before, is the old head: a lower bound). A key
// of the batch that was not cached stays out: a reader finds no entry, reads the store's old
// state as of the old head, and cannot cache it.
TEST_F(HotReadCacheTest, AChangedKeyIsUpdatedInPlaceBeforeTheHeadMoves) {
  Apply(CommitAtCentral({{"k", "old"}, {"u", "old"}}));
  Get("k");
  ASSERT_NE(cache_->Peek("k"), nullptr);
  ASSERT_EQ(cache_->Peek("u"), nullptr);
  bool checked = false;
  cache_->SetHookForTesting([&](HookPoint point, absl::string_view) {
    if (point != HookPoint::kChangesBegun || checked) return;
    checked = true;
    EXPECT_EQ(edge_->head_version(), 2u);  // the store has not moved yet
    ASSERT_NE(cache_->Peek("k"), nullptr);
    EXPECT_EQ(cache_->Peek("k")->value, "new");
    EXPECT_EQ(cache_->Peek("k")->version, 3u);
    Read during = Get("k");
    EXPECT_EQ(during.value, "new");
    EXPECT_EQ(during.version, 3u);
    EXPECT_EQ(during.as_of, 3u);  // the entry's version: it is ahead of the head
    Read uncached = Get("u");
    EXPECT_EQ(uncached.value, "old");
    EXPECT_EQ(uncached.as_of, 2u);
    EXPECT_EQ(cache_->Peek("u"), nullptr);  // what it read is not cached
  });
  Apply(CommitAtCentral({{"k", "new"}, {"u", "new"}}));
  EXPECT_TRUE(checked);
  EXPECT_EQ(Get("k").value, "new");
  EXPECT_EQ(Get("u").value, "new");
}

// The stale-insert interleaving without the generation check: the old value is cached for good
// and served as of a version at which it was already replaced.
// AReaderThatReadTheOldValueCannotCacheItAfterAChange fails this way without the guard.
TEST_F(HotReadCacheTest, WithoutTheGuardTheRaceCachesAStaleValue) {
  cache_->DisableGuardForTesting();
  Put("k", "old");
  OnceAt(HookPoint::kBeforeOffer, "k", [this] { Put("k", "new"); });
  Get("k");
  Read after = Get("k");
  EXPECT_EQ(after.as_of, 2u);
  EXPECT_EQ(after.value, "old");
  EXPECT_EQ(after.version, 1u);
}

TEST_F(HotReadCacheTest, ATicketOpenAcrossAChangeOrAResetIsRefused) {
  cache::CachedValue v;
  v.found = true;
  v.value = "x";
  v.version = 1;
  // Taken before the change began, offered while it is open or after it ended.
  kvstore::v1::Change put;
  put.set_kind(kvstore::v1::Change::KIND_PUT);
  put.set_key("k");
  const HotReadCache::KeyChange change{&put, 1};
  HotReadCache::Ticket before = cache_->NewTicket("k");
  cache_->BeginChanges({&change, 1});
  EXPECT_FALSE(cache_->Offer("k", before, v));
  HotReadCache::Ticket during = cache_->NewTicket("k");
  cache_->EndChanges(/*written=*/true);
  EXPECT_FALSE(cache_->Offer("k", before, v));
  EXPECT_FALSE(cache_->Offer("k", during, v));  // read while the store was being written
  EXPECT_TRUE(cache_->Offer("k", cache_->NewTicket("k"), v));
  // A reset closes every stripe.
  HotReadCache::Ticket before_reset = cache_->NewTicket("other");
  cache_->BeginReset();
  EXPECT_EQ(cache_->Peek("k"), nullptr);
  EXPECT_FALSE(cache_->Offer("other", cache_->NewTicket("other"), v));
  cache_->EndReset();
  EXPECT_FALSE(cache_->Offer("other", before_reset, v));
  EXPECT_TRUE(cache_->Offer("other", cache_->NewTicket("other"), v));
}

// A write of a cached key updates its entry in place: the next read is a hit (no miss) with
// the new record; a delete leaves a cached "not found" at its version; a commit's parts are
// each updated; a key that was not cached is not admitted by a write.
TEST_F(HotReadCacheTest, PutsDeletesAndCommitsUpdateCachedKeysInPlace) {
  Apply(CommitAtCentral({{"a", "1"}, {"b", "1"}, {"c", "1"}, {"u", "1"}}));
  for (const char* key : {"a", "b", "c", "n"}) {
    Get(key);
    ASSERT_NE(cache_->Peek(key), nullptr) << key;
  }
  const uint64_t misses = cache_->GetStats().cache.misses;
  Put("a", "2", /*expiration=*/kNow + 60);
  Read a = Get("a");
  EXPECT_EQ(a.result, LocalRead::kFound);
  EXPECT_EQ(a.value, "2");
  EXPECT_EQ(a.version, 5u);
  EXPECT_EQ(cache_->Peek("a")->expiration, kNow + 60);
  Delete("b");
  ASSERT_NE(cache_->Peek("b"), nullptr);
  EXPECT_FALSE(cache_->Peek("b")->found);
  EXPECT_EQ(cache_->Peek("b")->version, 6u);
  EXPECT_EQ(Get("b").result, LocalRead::kAbsent);
  Apply(CommitOneAtCentral({{"c", "3"}, {"n", "3"}, {"u", "3"}}, {"a"}));
  Read c = Get("c");
  EXPECT_EQ(c.value, "3");
  EXPECT_EQ(c.version, 7u);
  EXPECT_EQ(Get("n").value, "3");  // a cached "not found" is updated too
  EXPECT_EQ(Get("a").result, LocalRead::kAbsent);
  EXPECT_EQ(cache_->GetStats().cache.misses, misses) << "every read after a write was a hit";
  EXPECT_EQ(cache_->Peek("u"), nullptr) << "a write admits nothing";
  // The entries are what the store holds.
  for (const char* key : {"c", "n"}) EXPECT_EQ(EdgeRecord(key)->second, 7u);
  EXPECT_EQ(EdgeRecord("a"), std::nullopt);
}

// The last change of a key in one applied batch wins; an invalidation (a value too large to push)
// takes the key out of the cache, and a later change in the batch does not bring it back.
TEST_F(HotReadCacheTest, TheLastChangeOfABatchWinsAndAnInvalidationErases) {
  Apply(CommitAtCentral({{"a", "1"}, {"i", "1"}}));
  Get("a");
  Get("i");
  std::vector<kvstore::v1::Change> changes(4);
  changes[0].set_kind(kvstore::v1::Change::KIND_PUT);
  changes[0].set_key("a");
  changes[0].set_value("2");
  changes[1].set_kind(kvstore::v1::Change::KIND_DELETE);
  changes[1].set_key("a");
  changes[2].set_kind(kvstore::v1::Change::KIND_PUT);
  changes[2].set_key("a");
  changes[2].set_value("4");
  changes[3].set_kind(kvstore::v1::Change::KIND_INVALIDATE);
  changes[3].set_key("i");
  changes[3].set_value_size(1 << 20);
  Apply(ChangesAtCentral(changes));
  ASSERT_NE(cache_->Peek("a"), nullptr);
  EXPECT_EQ(cache_->Peek("a")->value, "4");
  EXPECT_EQ(cache_->Peek("a")->version, 5u);
  EXPECT_EQ(cache_->Peek("i"), nullptr);
  EXPECT_EQ(Get("i").result, LocalRead::kValueMissing);
  EXPECT_EQ(cache_->Peek("i"), nullptr);  // a value still to be fetched is not cached
}

// A store write that fails leaves no entry ahead of the store: what BeginChanges put in place
// is erased before the stripes reopen, and the batch applies once it comes again.
TEST_F(HotReadCacheTest, AFailedStoreWriteLeavesNoUpdatedEntryBehind) {
  Apply(CommitAtCentral({{"a", "1"}, {"b", "1"}}));
  Get("a");
  Get("b");
  auto batch = CommitAtCentral({{"a", "2"}, {"b", "2"}});  // versions 3 and 4
  // Version 4 without 3: the store refuses the batch (out of order) after BeginChanges ran.
  bool updated = false;
  cache_->SetHookForTesting([&](HookPoint point, absl::string_view) {
    if (point != HookPoint::kChangesBegun) return;
    updated = cache_->Peek("b") != nullptr && cache_->Peek("b")->version == 4;
  });
  EXPECT_FALSE(applier_->Apply({batch[1]}).ok());
  EXPECT_TRUE(updated) << "the entry was updated in place before the write";
  EXPECT_EQ(edge_->head_version(), 2u);
  EXPECT_EQ(cache_->Peek("b"), nullptr);
  ASSERT_NE(cache_->Peek("a"), nullptr);  // not in the failed batch
  EXPECT_EQ(cache_->Peek("a")->version, 1u);
  Read b = Get("b");
  EXPECT_EQ(b.value, "1");
  EXPECT_EQ(b.version, 2u);
  cache_->SetHookForTesting(nullptr);
  Apply(batch);
  EXPECT_EQ(Get("a").value, "2");
  EXPECT_EQ(Get("b").value, "2");
}

// A read of an entry updated ahead of the store's head answers as of the entry's version, not the
// head's: a session that saw a delete (or a put) this way asks for that version next and never
// reads the older record again, even when the store write then fails.
TEST_F(HotReadCacheTest, AReadOfAnEntryAheadOfTheHeadIsAsOfItsVersion) {
  Put("gone", "1");  // version 1
  Put("new", "1");   // version 2
  Get("gone");
  Get("new");
  Read deleted, put;
  uint64_t head_then = 0;
  OnceAt(HookPoint::kChangesBegun, "", [&] {
    head_then = edge_->head_version();
    deleted = Get("gone");
    put = Get("new");
  });
  kvstore::v1::Change del;
  del.set_kind(kvstore::v1::Change::KIND_DELETE);
  del.set_key("gone");
  kvstore::v1::Change p;
  p.set_kind(kvstore::v1::Change::KIND_PUT);
  p.set_key("new");
  p.set_value("2");
  Apply(ChangesAtCentral({del, p}));  // versions 3 and 4
  EXPECT_EQ(head_then, 2u);
  EXPECT_EQ(deleted.result, LocalRead::kAbsent);
  EXPECT_EQ(deleted.as_of, 3u) << "a \"not found\" as of the head would let the key come back";
  EXPECT_EQ(put.value, "2");
  EXPECT_EQ(put.as_of, 4u);
}

// EndChanges directly: after an unwritten change no updated entry stays, and the stripe reopens.
TEST_F(HotReadCacheTest, EndChangesUnwrittenErasesTheUpdatedKeys) {
  Put("k", "1");
  Get("k");
  kvstore::v1::Change put;
  put.set_kind(kvstore::v1::Change::KIND_PUT);
  put.set_key("k");
  put.set_value("2");
  const HotReadCache::KeyChange change{&put, 2};
  cache_->BeginChanges({&change, 1});
  ASSERT_NE(cache_->Peek("k"), nullptr);
  EXPECT_EQ(cache_->Peek("k")->version, 2u);
  cache_->EndChanges(/*written=*/false);
  EXPECT_EQ(cache_->Peek("k"), nullptr);
  EXPECT_EQ(Get("k").value, "1");
  EXPECT_EQ(Get("k").value, "1");  // cached again: the stripe is open
  EXPECT_NE(cache_->Peek("k"), nullptr);
}

TEST_F(HotReadCacheTest, ACachedValueExpiresOnTimeAndItsDeletionIsCached) {
  Put("t", "ttl", /*expiration=*/kNow + 10);
  EXPECT_EQ(Get("t", kNow).value, "ttl");
  ASSERT_NE(cache_->Peek("t"), nullptr);
  const uint64_t hits = cache_->GetStats().cache.hits;
  EXPECT_EQ(Get("t", kNow + 9).result, LocalRead::kFound);
  EXPECT_EQ(Get("t", kNow + 10).result, LocalRead::kAbsent);  // from the cache, expired
  EXPECT_EQ(cache_->GetStats().cache.hits, hits + 2);
  Delete("t");  // the central node's sweeper's deletion
  ASSERT_NE(cache_->Peek("t"), nullptr);
  EXPECT_FALSE(cache_->Peek("t")->found);
}

TEST_F(HotReadCacheTest, ASnapshotInstallClearsTheCache) {
  Put("a", "1");
  Get("a");
  ASSERT_NE(cache_->Peek("a"), nullptr);
  HotReadCache::Ticket before = cache_->NewTicket("b");
  kvstore::v1::SnapshotChunk chunk;
  chunk.set_version(5);
  chunk.set_cluster_id("test-cluster");
  chunk.set_last(true);
  kvstore::v1::Entry* e = chunk.add_entries();
  e->set_key("a");
  e->set_value("from the snapshot");
  e->set_version(5);
  ASSERT_TRUE(applier_->BeginSnapshot().ok());
  EXPECT_EQ(cache_->Peek("a"), nullptr);
  // A reader during the install reads an incomplete store: nothing it reads is cached.
  Get("a");
  EXPECT_EQ(cache_->Peek("a"), nullptr);
  // A retried snapshot begins again without finishing.
  ASSERT_TRUE(applier_->BeginSnapshot().ok());
  ASSERT_TRUE(applier_->ApplySnapshotChunk(chunk).ok());
  ASSERT_TRUE(applier_->FinishSnapshot(5, "test-cluster").ok());
  cache::CachedValue stale;
  stale.found = true;
  stale.value = "read before the snapshot";
  stale.version = 1;
  EXPECT_FALSE(cache_->Offer("b", before, stale));
  EXPECT_EQ(Get("a").value, "from the snapshot");
  EXPECT_NE(cache_->Peek("a"), nullptr);  // open again
}

// A BatchGet that straddles a commit: its keys are looked up before the commit, the commit is
// then applied (both entries updated in place) and read while the batch is still answering. It
// must show both keys of one state.
TEST_F(HotReadCacheTest, ABatchNeverSeesPartOfACommit) {
  Apply(CommitOneAtCentral({{"a", "1"}, {"b", "1"}}));
  Get("a");
  Get("b");
  OnceAt(HookPoint::kAfterLookup, "a", [this] {
    Apply(CommitOneAtCentral({{"a", "2"}, {"b", "2"}}));
    EXPECT_EQ(Get("b").value, "2");
  });
  auto [values, as_of] = BatchGet({"a", "b"});
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], values[1]) << "a batch saw part of a commit, as of " << as_of;
  EXPECT_EQ(values[0], as_of == 1 ? "1" : "2");
}

// A commit's cached keys are updated in place one by one, before the head moves. A batch read
// between the updates of "a" and "b" finds a at the commit's version and b before it; it must
// not answer that from the cache (a is newer than the head it read) but from the store, at one
// state. Fails without the version check of LookupAllAsOf.
TEST_F(HotReadCacheTest, ABatchBetweenTheInPlaceUpdatesOfACommitNeverSeesPartOfIt) {
  Apply(CommitOneAtCentral({{"a", "1"}, {"b", "1"}}));
  BatchGet({"a", "b"});  // from the store, offered to the cache
  ASSERT_NE(cache_->Peek("a"), nullptr);
  ASSERT_NE(cache_->Peek("b"), nullptr);
  std::vector<std::string> values;
  uint64_t as_of = 0;
  OnceAt(HookPoint::kKeyChanged, "a", [&] {
    ASSERT_EQ(cache_->Peek("a")->version, 2u);  // updated
    ASSERT_EQ(cache_->Peek("b")->version, 1u);  // not yet
    std::tie(values, as_of) = BatchGet({"a", "b"});
  });
  Apply(CommitOneAtCentral({{"a", "2"}, {"b", "2"}}));
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], values[1]) << "a batch saw part of a commit, as of " << as_of;
  EXPECT_EQ(as_of, 1u);
  EXPECT_EQ(values[0], "1");
}

// Once every key of the commit is updated in place and the head has not moved yet, a batch is
// answered at one state that its version names: from the store as of the old head (the entries
// are newer than it), never the new records as of the old version.
TEST_F(HotReadCacheTest, ABatchBeforeTheHeadMovesIsAnsweredAtTheVersionItNames) {
  Apply(CommitOneAtCentral({{"a", "1"}, {"b", "1"}}));
  BatchGet({"a", "b"});
  std::vector<std::string> values;
  uint64_t as_of = 0;
  OnceAt(HookPoint::kChangesBegun, "", [&] {
    ASSERT_EQ(cache_->Peek("a")->version, 2u);
    ASSERT_EQ(cache_->Peek("b")->version, 2u);
    std::tie(values, as_of) = BatchGet({"a", "b"});
  });
  Apply(CommitOneAtCentral({{"a", "2"}, {"b", "2"}}));
  EXPECT_EQ(values, (std::vector<std::string>{"1", "1"})) << "as of " << as_of;
  EXPECT_EQ(as_of, 1u);
  // After the head moved, the same batch is all hits at the new version.
  const uint64_t hits = cache_->GetStats().cache.hits;
  auto [after, after_as_of] = BatchGet({"a", "b"});
  EXPECT_EQ(after, (std::vector<std::string>{"2", "2"}));
  EXPECT_EQ(after_as_of, 2u);
  EXPECT_EQ(cache_->GetStats().cache.hits, hits + 2);
}

TEST_F(HotReadCacheTest, ABatchOfHitsAtOneVersionIsServedFromTheCache) {
  Apply(CommitOneAtCentral({{"a", "1"}, {"b", "1"}}));
  BatchGet({"a", "b", "none"});  // from the store, offered to the cache
  const uint64_t hits = cache_->GetStats().cache.hits;
  auto [values, as_of] = BatchGet({"a", "b", "none"});
  EXPECT_EQ(values, (std::vector<std::string>{"1", "1", ""}));
  EXPECT_EQ(as_of, 1u);
  EXPECT_EQ(cache_->GetStats().cache.hits, hits + 3);
}

// The shared reads of a full edge (RESP's GET and MGET): hits only, and a read they do not
// answer records nothing, since the ordinary read that follows looks up again.
TEST_F(HotReadCacheTest, SharedReadsAnswerHitsAndRecordNothingElse) {
  Apply(CommitOneAtCentral({{"a", "1"}, {"b", "1"}}));
  EXPECT_EQ(cache_->LookupIfCached("a"), nullptr);
  EXPECT_EQ(cache_->GetStats().cache.misses, 0u);
  EXPECT_EQ(cache_->Peek("a"), nullptr) << "a shared miss admits nothing";
  BatchGet({"a", "b"});  // from the store, offered to the cache
  const HotReadCache::Stats before = cache_->GetStats();

  std::vector<std::shared_ptr<const cache::CachedValue>> hits;
  const std::vector<absl::string_view> with_miss = {"a", "none", "b"};
  EXPECT_FALSE(cache_->LookupAllAsOf(with_miss, edge_->head_version(), &hits));
  EXPECT_TRUE(hits.empty());
  const std::vector<absl::string_view> both = {"b", "a"};
  // An entry newer than the head read before the lookups: not answered from the cache.
  EXPECT_FALSE(cache_->LookupAllAsOf(both, edge_->head_version() - 1, &hits));
  EXPECT_TRUE(hits.empty());
  EXPECT_EQ(cache_->GetStats().cache.hits, before.cache.hits);
  EXPECT_EQ(cache_->GetStats().cache.misses, before.cache.misses);

  ASSERT_TRUE(cache_->LookupAllAsOf(both, edge_->head_version(), &hits));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0]->value, "1");
  EXPECT_EQ(hits[1]->version, 1u);
  ASSERT_NE(cache_->LookupIfCached("a"), nullptr);
  EXPECT_EQ(cache_->GetStats().cache.hits, before.cache.hits + 3);
  EXPECT_EQ(cache_->GetStats().cache.misses, before.cache.misses);
}

// Concurrent readers while the applier commits {x, y} at every version: a single read is never
// older than the version it reports, and a batch always sees x and y of the same commit.
TEST_F(HotReadCacheTest, ConcurrentReadersSeeNoStaleValueAndNoPartialCommit) {
  Apply(CommitOneAtCentral({{"x", "0"}, {"y", "0"}}));
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  auto reader = [&] {
    kvstore::v1::Entry entry;
    while (!stop.load()) {
      uint64_t as_of = 0;
      entry.Clear();
      auto read = ReadHot(*cache_, *edge_, "x", kNow, &entry, &as_of);
      if (!read.ok() || entry.version() < as_of) violations.fetch_add(1);
      auto [values, batch_as_of] = BatchGet({"x", "y"});
      if (values.size() != 2 || values[0] != values[1] ||
          std::stoull(values[0]) + 1 < batch_as_of) {
        violations.fetch_add(1);
      }
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) readers.emplace_back(reader);
  for (int i = 1; i <= 300; ++i) {
    Apply(CommitOneAtCentral({{"x", std::to_string(i)}, {"y", std::to_string(i)}}));
  }
  // Readers that raced every commit (a busy machine) may not have hit yet: once the writes stop
  // they must, and soon (at most 5 s, polled).
  for (int i = 0; i < 500 && cache_->GetStats().cache.hits == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(cache_->GetStats().cache.hits, 0u);
}

}  // namespace
}  // namespace kv::server

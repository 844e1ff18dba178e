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
// writes a newer one and invalidates; the reader's insert of the old value must be refused.
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

// The keys of a batch leave the cache before the store's head moves: a reader in between finds
// no entry, reads the store's old state as of the old head, and cannot cache it.
TEST_F(HotReadCacheTest, AChangedKeyLeavesTheCacheBeforeTheHeadMoves) {
  Put("k", "old");
  Get("k");
  ASSERT_NE(cache_->Peek("k"), nullptr);
  bool checked = false;
  cache_->SetHookForTesting([&](HookPoint point, absl::string_view) {
    if (point != HookPoint::kChangesBegun || checked) return;
    checked = true;
    EXPECT_EQ(edge_->head_version(), 1u);   // the store has not moved yet
    EXPECT_EQ(cache_->Peek("k"), nullptr);  // the key is out already
    Read during = Get("k");
    EXPECT_EQ(during.value, "old");
    EXPECT_EQ(during.as_of, 1u);
    EXPECT_EQ(cache_->Peek("k"), nullptr);  // and what it read is not cached
  });
  Put("k", "new");
  EXPECT_TRUE(checked);
  EXPECT_EQ(Get("k").value, "new");
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
  HotReadCache::Ticket before = cache_->NewTicket("k");
  cache_->BeginChanges({"k"});
  EXPECT_FALSE(cache_->Offer("k", before, v));
  HotReadCache::Ticket during = cache_->NewTicket("k");
  cache_->EndChanges();
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

TEST_F(HotReadCacheTest, PutsDeletesAndCommitsInvalidateCachedKeys) {
  Apply(CommitAtCentral({{"a", "1"}, {"b", "1"}, {"c", "1"}}));
  for (const char* key : {"a", "b", "c", "n"}) {
    Get(key);
    ASSERT_NE(cache_->Peek(key), nullptr) << key;
  }
  Put("a", "2");
  EXPECT_EQ(Get("a").value, "2");
  Delete("b");
  EXPECT_EQ(Get("b").result, LocalRead::kAbsent);
  Apply(CommitOneAtCentral({{"c", "3"}, {"n", "3"}}, {"a"}));
  Read c = Get("c");
  EXPECT_EQ(c.value, "3");
  EXPECT_EQ(c.version, 6u);
  EXPECT_EQ(Get("n").value, "3");  // a cached "not found" is dropped too
  EXPECT_EQ(Get("a").result, LocalRead::kAbsent);
  // And each answer is cached again.
  for (const char* key : {"a", "b", "c", "n"}) EXPECT_NE(cache_->Peek(key), nullptr) << key;
}

TEST_F(HotReadCacheTest, ACachedValueExpiresOnTimeAndItsDeletionDropsIt) {
  Put("t", "ttl", /*expiration=*/kNow + 10);
  EXPECT_EQ(Get("t", kNow).value, "ttl");
  ASSERT_NE(cache_->Peek("t"), nullptr);
  const uint64_t hits = cache_->GetStats().cache.hits;
  EXPECT_EQ(Get("t", kNow + 9).result, LocalRead::kFound);
  EXPECT_EQ(Get("t", kNow + 10).result, LocalRead::kAbsent);  // from the cache, expired
  EXPECT_EQ(cache_->GetStats().cache.hits, hits + 2);
  Delete("t");  // the central node's sweeper's deletion
  EXPECT_EQ(cache_->Peek("t"), nullptr);
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

// A BatchGet whose lookups straddle a commit: "a" hits its value before the commit, then the
// commit is applied and a reader caches "b" after it. Served from the cache the batch would
// show a=1, b=2; it must show both keys of one state.
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

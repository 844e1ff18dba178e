#include "server/edge/cache_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/support/temp_dir.h"

namespace kv::server {
namespace {

using kvstore::v1::Change;

std::shared_ptr<const Change> PutChange(uint64_t version, const std::string& key,
                                        const std::string& value) {
  auto c = std::make_shared<Change>();
  c->set_version(version);
  c->set_kind(Change::KIND_PUT);
  c->set_key(key);
  c->set_value(value);
  return c;
}

std::shared_ptr<const Change> OtherChange(uint64_t version, const std::string& key,
                                          Change::Kind kind) {
  auto c = std::make_shared<Change>();
  c->set_version(version);
  c->set_kind(kind);
  c->set_key(key);
  return c;
}

kvstore::v1::FetchResponse Found(const std::string& key, const std::string& value, uint64_t version,
                                 uint64_t as_of) {
  kvstore::v1::FetchResponse r;
  r.set_found(true);
  r.mutable_entry()->set_key(key);
  r.mutable_entry()->set_value(value);
  r.mutable_entry()->set_version(version);
  r.mutable_info()->set_as_of_version(as_of);
  r.mutable_info()->set_node_id("upstream");
  return r;
}

kvstore::v1::FetchResponse NotFound(uint64_t as_of) {
  kvstore::v1::FetchResponse r;
  r.mutable_info()->set_as_of_version(as_of);
  r.mutable_info()->set_node_id("upstream");
  return r;
}

class CacheStoreTest : public ::testing::Test {
 protected:
  void Open(uint64_t cache_bytes = 8 << 20) {
    edge_.reset();
    CacheStoreOptions options;
    options.data_dir = dir_.path();
    options.cache_bytes = cache_bytes;
    options.shards = 1;
    auto edge = CacheStore::Open(options);
    ASSERT_TRUE(edge.ok()) << edge.status();
    edge_ = std::move(*edge);
  }
  // Applies consecutive changes after the current applied version.
  void Apply(std::vector<std::shared_ptr<const Change>> changes) {
    ASSERT_TRUE(edge_->Apply(changes).ok());
  }
  // Runs one complete cold read: join, (changes arrive), fetch result.
  FetchOutcome ColdRead(const std::string& key,
                        const std::vector<std::shared_ptr<const Change>>& during,
                        const kvstore::v1::FetchResponse& fetched, absl::Status status = {}) {
    FetchOutcome seen;
    int calls = 0;
    bool leader = edge_->JoinFetch(key, 0, [&](const FetchOutcome& o) {
      seen = o;
      ++calls;
    });
    EXPECT_TRUE(leader);
    if (!during.empty()) Apply(during);
    edge_->FinishFetch(key, status, fetched);
    EXPECT_EQ(calls, 1);
    return seen;
  }

  testing::TempDir dir_;
  std::unique_ptr<CacheStore> edge_;
};

// The stream restarts at the upstream's head (a RESET, a failover) while a cold fetch is in
// flight: the changes it skipped were never seen, so an answer from before the restart point is
// not cached; its reader goes upstream.
TEST_F(CacheStoreTest, AFetchAnsweredFromBeforeARestartIsNotCached) {
  Open();
  ASSERT_TRUE(edge_->StartFrom(4, "c").ok());
  FetchOutcome seen;
  ASSERT_TRUE(edge_->JoinFetch("k", 0, [&](const FetchOutcome& o) { seen = o; }));
  // Version 7 put "k"; the restart at 9 skips it.
  ASSERT_TRUE(edge_->StartFrom(9, "c").ok());
  edge_->FinishFetch("k", absl::OkStatus(), NotFound(6));
  EXPECT_TRUE(seen.must_forward);
  EXPECT_EQ(edge_->Lookup("k"), nullptr);
  // A fetch answered at or after the restart point is cached as usual.
  FetchOutcome o = ColdRead("k", {}, NotFound(9));
  ASSERT_TRUE(o.status.ok());
  EXPECT_FALSE(o.must_forward);
  ASSERT_NE(edge_->Lookup("k"), nullptr);
}

TEST_F(CacheStoreTest, AChangeDuringTheFetchWinsOverTheOlderFetchedVersion) {
  Open();
  ASSERT_TRUE(edge_->StartFrom(4, "c").ok());
  // The fetch left the upstream at version 3's value; the stream brings version 5 meanwhile.
  FetchOutcome o = ColdRead("k", {PutChange(5, "k", "new")}, Found("k", "old", 3, 4));
  ASSERT_TRUE(o.status.ok());
  EXPECT_EQ(o.value->value, "new");
  EXPECT_EQ(o.value->version, 5u);
  auto cached = edge_->Lookup("k");
  ASSERT_NE(cached, nullptr);
  EXPECT_EQ(cached->value, "new");
}

TEST_F(CacheStoreTest, ANewerFetchIsKeptOverAnOlderStreamChange) {
  Open();
  ASSERT_TRUE(edge_->StartFrom(1, "c").ok());
  FetchOutcome o = ColdRead("k", {PutChange(2, "k", "stream")}, Found("k", "fetched", 4, 4));
  EXPECT_EQ(o.value->value, "fetched");
  // Later stream changes older than what is cached are ignored...
  Apply({PutChange(3, "k", "older")});
  EXPECT_EQ(edge_->Lookup("k")->value, "fetched");
  // ...newer ones replace it.
  Apply({PutChange(4, "x", "x"), PutChange(5, "k", "newer")});
  EXPECT_EQ(edge_->Lookup("k")->value, "newer");
}

TEST_F(CacheStoreTest, AnInvalidationDuringTheFetchSendsReadersUpstream) {
  Open();
  ASSERT_TRUE(edge_->StartFrom(1, "c").ok());
  FetchOutcome o =
      ColdRead("k", {OtherChange(2, "k", Change::KIND_INVALIDATE)}, Found("k", "small", 1, 1));
  EXPECT_TRUE(o.must_forward);
  EXPECT_EQ(edge_->Lookup("k"), nullptr);
}

TEST_F(CacheStoreTest, NotFoundIsCachedAndTheStreamMakesTheKeyAppear) {
  Open();
  ASSERT_TRUE(edge_->StartFrom(10, "c").ok());
  FetchOutcome o = ColdRead("k", {}, NotFound(10));
  ASSERT_TRUE(o.status.ok());
  EXPECT_FALSE(o.value->found);
  auto cached = edge_->Lookup("k");
  ASSERT_NE(cached, nullptr);
  EXPECT_FALSE(cached->found);
  Apply({PutChange(11, "k", "created")});
  cached = edge_->Lookup("k");
  ASSERT_TRUE(cached->found);
  EXPECT_EQ(cached->value, "created");
  Apply({OtherChange(12, "k", Change::KIND_DELETE)});
  EXPECT_FALSE(edge_->Lookup("k")->found);
}

TEST_F(CacheStoreTest, ConcurrentMissesShareOneFetch) {
  Open();
  int answered = 0;
  int leaders = 0;
  for (int i = 0; i < 100; ++i) {
    leaders += edge_->JoinFetch("hot", 0, [&](const FetchOutcome& o) {
      EXPECT_EQ(o.value->value, "v");
      ++answered;
    });
  }
  EXPECT_EQ(leaders, 1);
  kvstore::v1::CacheStatus status;
  edge_->FillStatus(&status);
  EXPECT_EQ(status.upstream_fetches(), 1u);
  EXPECT_EQ(status.coalesced_waits(), 99u);
  EXPECT_EQ(status.pending_fetches(), 1u);
  edge_->FinishFetch("hot", absl::OkStatus(), Found("hot", "v", 1, 1));
  EXPECT_EQ(answered, 100);
  edge_->FillStatus(&status);
  EXPECT_EQ(status.pending_fetches(), 0u);
}

TEST_F(CacheStoreTest, AFailedFetchAnswersEveryWaiterAndCachesNothing) {
  Open();
  FetchOutcome o = ColdRead("k", {}, {}, absl::UnavailableError("down"));
  EXPECT_EQ(o.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(edge_->Lookup("k"), nullptr);
  // The next miss starts a new fetch.
  EXPECT_TRUE(edge_->JoinFetch("k", 0, [](const FetchOutcome&) {}));
}

TEST_F(CacheStoreTest, RestartIsWarmAndResumesFromTheAppliedVersion) {
  Open();
  ASSERT_TRUE(edge_->StartFrom(5, "cluster-1").ok());
  ColdRead("a", {}, Found("a", "va", 3, 5));
  ColdRead("gone", {}, NotFound(5));
  Apply({PutChange(6, "a", "va2"), PutChange(7, "unrelated", "x")});
  Open();  // reopen the same directory
  EXPECT_EQ(edge_->applied_version(), 7u);
  EXPECT_EQ(edge_->cluster_id(), "cluster-1");
  auto a = edge_->Lookup("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->value, "va2");
  auto gone = edge_->Lookup("gone");
  ASSERT_NE(gone, nullptr);
  EXPECT_FALSE(gone->found);
  EXPECT_EQ(edge_->Lookup("unrelated"), nullptr);  // never read, never cached
}

TEST_F(CacheStoreTest, StartingOverDropsTheCacheForGood) {
  Open();
  ASSERT_TRUE(edge_->StartFrom(1, "old").ok());
  ColdRead("a", {}, Found("a", "v", 1, 1));
  ASSERT_TRUE(edge_->StartFrom(100, "new").ok());
  EXPECT_EQ(edge_->Lookup("a"), nullptr);
  Open();
  EXPECT_EQ(edge_->Lookup("a"), nullptr);
  EXPECT_EQ(edge_->applied_version(), 100u);
  EXPECT_EQ(edge_->cluster_id(), "new");
}

TEST_F(CacheStoreTest, MemoryStaysUnderTheLimitAndEvictionsArePersisted) {
  constexpr uint64_t kLimit = 256 << 10;
  Open(kLimit);
  std::string value(1000, 'v');
  for (int i = 0; i < 2000; ++i) {  // ~2 MB offered to a 256 KiB cache
    std::string key = "k" + std::to_string(i);
    ColdRead(key, {}, Found(key, value, 1, 1));
    kvstore::v1::CacheStatus status;
    edge_->FillStatus(&status);
    ASSERT_LE(status.bytes_used(), kLimit);
  }
  kvstore::v1::CacheStatus before;
  edge_->FillStatus(&before);
  EXPECT_GT(before.evictions() + before.rejections(), 1000u);
  Open(kLimit);
  kvstore::v1::CacheStatus after;
  edge_->FillStatus(&after);
  // Only what was cached was persisted: the reloaded set fits without evicting.
  EXPECT_EQ(after.entries(), before.entries());
  EXPECT_LE(after.bytes_used(), kLimit);
}

TEST_F(CacheStoreTest, ACommitIsAppliedWholeAndLookupAllSeesItWhole) {
  Open();
  ASSERT_TRUE(edge_->StartFrom(4, "c").ok());
  // Cached: a and b at 3, c as "not found" at 4.
  FetchOutcome a = ColdRead("a", {}, Found("a", "60", 3, 4));
  FetchOutcome b = ColdRead("b", {}, Found("b", "40", 3, 4));
  FetchOutcome c = ColdRead("c", {}, NotFound(4));
  ASSERT_TRUE(a.status.ok() && b.status.ok() && c.status.ok());
  auto commit = std::make_shared<Change>();
  commit->set_version(5);
  commit->set_kind(Change::KIND_COMMIT);
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"a", "0"}, {"b", "90"}, {"c", "10"}}) {
    auto* part = commit->add_parts();
    part->set_kind(Change::KIND_PUT);
    part->set_key(key);
    part->set_value(value);
  }
  auto* big = commit->add_parts();
  big->set_kind(Change::KIND_INVALIDATE);
  big->set_key("big");

  // Readers of all keys during the apply see the sum 100 (before) or 100 (after), never mixed.
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0}, reads{0};
  std::thread reader([&] {
    google::protobuf::RepeatedPtrField<std::string> keys;
    for (const char* k : {"a", "b", "c"}) keys.Add(k);
    std::vector<std::shared_ptr<const cache::CachedValue>> hits;
    const std::vector<absl::string_view> views = {"a", "b", "c"};
    while (!stop.load()) {
      // LookupAll, then LookupAllCached (the shared read's): both see one state.
      for (bool peek : {false, true}) {
        uint64_t as_of = 0;
        if (!peek) {
          as_of = edge_->LookupAll(keys, &hits);
        } else if (!edge_->LookupAllCached(views, &hits, &as_of)) {
          torn.fetch_add(1);  // every key is cached
        }
        int sum = 0;
        for (const auto& h : hits) {
          if (h != nullptr && h->found) sum += std::stoi(h->value);
          if (h != nullptr && h->version > as_of) torn.fetch_add(1);
        }
        if (sum != 100) torn.fetch_add(1);
      }
      reads.fetch_add(1);
    }
  });
  while (reads.load() < 10) std::this_thread::yield();
  Apply({commit});
  const int reads_before = reads.load();
  while (reads.load() < reads_before + 10) std::this_thread::yield();
  stop.store(true);
  reader.join();
  EXPECT_EQ(torn.load(), 0);

  EXPECT_EQ(edge_->applied_version(), 5u);
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"a", "0"}, {"b", "90"}, {"c", "10"}}) {
    auto cached = edge_->Lookup(key);
    ASSERT_NE(cached, nullptr) << key;
    EXPECT_TRUE(cached->found);
    EXPECT_EQ(cached->value, value);
    EXPECT_EQ(cached->version, 5u);
  }
  // Persisted whole: a restart finds the commit's state.
  Open();
  EXPECT_EQ(edge_->applied_version(), 5u);
  auto restarted = edge_->Lookup("b");
  ASSERT_NE(restarted, nullptr);
  EXPECT_EQ(restarted->value, "90");
}

// The shared reads (RESP's GET and MGET at a cache edge): a miss or a partial batch records
// nothing, since the caller then makes the ordinary lookup; what they answer is counted once.
TEST_F(CacheStoreTest, SharedReadsRecordOnlyWhatTheyAnswer) {
  Open();
  ASSERT_TRUE(edge_->StartFrom(4, "c").ok());
  ColdRead("a", {}, Found("a", "60", 3, 4));
  ColdRead("b", {}, Found("b", "40", 3, 4));
  auto stats = [this] {
    kvstore::v1::CacheStatus status;
    edge_->FillStatus(&status);
    return std::make_pair(status.hits(), status.misses());
  };
  const auto before = stats();
  EXPECT_EQ(edge_->LookupIfCached("zz"), nullptr);
  EXPECT_EQ(stats(), before);
  ASSERT_NE(edge_->LookupIfCached("a"), nullptr);
  EXPECT_EQ(stats(), std::make_pair(before.first + 1, before.second));

  std::vector<std::shared_ptr<const cache::CachedValue>> hits;
  uint64_t as_of = 0;
  const std::vector<absl::string_view> partial = {"a", "zz", "b"};
  EXPECT_FALSE(edge_->LookupAllCached(partial, &hits, &as_of));
  EXPECT_TRUE(hits.empty());
  EXPECT_EQ(stats(), std::make_pair(before.first + 1, before.second));  // nothing recorded
  // A cold fetch answered by an upstream ahead of the stream: newer than the applied state, so
  // a batch holding it is not answered from the cache (and records nothing).
  ColdRead("new", {}, Found("new", "1", 6, 6));
  const auto after_fetch = stats();
  const std::vector<absl::string_view> with_newer = {"a", "new"};
  EXPECT_FALSE(edge_->LookupAllCached(with_newer, &hits, &as_of));
  EXPECT_TRUE(hits.empty());
  EXPECT_EQ(stats(), after_fetch);
  const std::vector<absl::string_view> both = {"b", "a", "b"};
  ASSERT_TRUE(edge_->LookupAllCached(both, &hits, &as_of));
  EXPECT_EQ(as_of, 4u);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0]->value, "40");
  EXPECT_EQ(hits[1]->value, "60");
  EXPECT_EQ(hits[2]->value, "40");
  EXPECT_EQ(stats(), std::make_pair(after_fetch.first + 3, after_fetch.second));
}

// A value handed out stays whole and unchanged while its reader holds it, whatever the cache
// does meanwhile: a newer change replaces the entry, a restart drops the cache, the writer
// keeps replacing it while readers copy it out.
TEST_F(CacheStoreTest, ASharedValueOutlivesItsReplacementAndEviction) {
  Open();
  ASSERT_TRUE(edge_->StartFrom(4, "c").ok());
  ColdRead("a", {}, Found("a", "60", 3, 4));
  std::shared_ptr<const cache::CachedValue> held = edge_->LookupIfCached("a");
  ASSERT_NE(held, nullptr);
  const absl::string_view bytes = held->value;  // what a reply is written from
  Apply({PutChange(5, "a", "70")});
  EXPECT_EQ(edge_->Lookup("a")->value, "70");
  ASSERT_TRUE(edge_->StartFrom(9, "c").ok());  // the cache is dropped
  EXPECT_EQ(edge_->Lookup("a"), nullptr);
  EXPECT_EQ(bytes, "60");
  EXPECT_EQ(held->version, 3u);
  EXPECT_EQ(held.use_count(), 1) << "the cache let go of the replaced value";

  // Each version's value is 100 copies of one letter, the version's: a reader that saw bytes
  // change under it (or freed) would find a mixed or wrong value.
  auto letter = [](uint64_t version) { return static_cast<char>('a' + version % 26); };
  ColdRead("hot", {}, Found("hot", std::string(100, letter(9)), 9, 9));
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0}, reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      const std::vector<absl::string_view> keys = {"hot"};
      std::vector<std::shared_ptr<const cache::CachedValue>> hits;
      while (!stop.load()) {
        std::shared_ptr<const cache::CachedValue> v;
        uint64_t as_of = 0;
        if (r == 0) {
          v = edge_->LookupIfCached("hot");
        } else if (edge_->LookupAllCached(keys, &hits, &as_of)) {
          v = hits[0];
        }
        if (v == nullptr) continue;  // evicted by a restart: the ordinary read would fetch
        const std::string first(v->value);
        std::this_thread::yield();  // the writer replaces the entry meanwhile
        if (first != std::string(100, letter(v->version)) || std::string(v->value) != first) {
          wrong.fetch_add(1);
        }
        reads.fetch_add(1);
      }
    });
  }
  for (uint64_t version = 10; version < 400; ++version) {
    Apply({PutChange(version, "hot", std::string(100, letter(version)))});
  }
  while (reads.load() < 100) std::this_thread::yield();
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(edge_->Lookup("hot")->version, 399u);
}

}  // namespace
}  // namespace kv::server

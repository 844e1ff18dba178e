// Cache-mode edges as real processes: cold reads through one coalesced fetch, coherent "not
// found"s, a memory bound under a working set ten times larger, warm restarts, expiry judged at
// the edge, an unreachable upstream, large values, and read-your-writes across edges through
// the client library.

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kv/client.h"
#include "tests/faultproxy/fault_proxy.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kvd_process.h"
#include "tests/support/raw_kv.h"
#include "tests/support/temp_dir.h"

namespace kv::testing {
namespace {

class CacheEdgeTest : public ClusterFixture {
 protected:
  // A cache edge, ready (in sync within its bound), so reads are served locally.
  KvdProcess* StartCache(const std::string& name, const std::string& upstream,
                         std::vector<std::string> extra = {}) {
    KvdProcess* edge = StartEdge(name, upstream, "cache", std::move(extra));
    EXPECT_TRUE(WaitReady(edge));
    return edge;
  }
};

TEST_F(CacheEdgeTest, HundredsOfConcurrentMissesCauseOneUpstreamFetch) {
  KvdProcess* central = StartCentral();
  // A slow link makes the fetch take long enough for every miss to pile up behind it.
  FaultProxyOptions proxy_options;
  proxy_options.target_address = central->address();
  FaultProxy proxy(proxy_options);
  ASSERT_TRUE(proxy.Start().ok());
  KvdProcess* edge = StartCache("cache", proxy.listen_address());
  RawKv(central->address()).Put("hot", "value");
  ASSERT_TRUE(WaitApplied(edge, 1));
  proxy.SetDelay(Direction::kServerToClient, absl::Milliseconds(300));

  constexpr int kReaders = 300;
  std::atomic<int> ok{0};
  std::vector<std::thread> readers;
  std::vector<std::unique_ptr<RawKv>> clients;
  for (int i = 0; i < 6; ++i) clients.push_back(std::make_unique<RawKv>(edge->address()));
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&, i] {
      kvstore::v1::GetResponse got;
      grpc::Status s = clients[i % clients.size()]->Get("hot", &got, {}, 10000);
      if (s.ok() && got.found() && got.entry().value() == "value") {
        ok.fetch_add(1);
      } else if (i < 3) {
        ADD_FAILURE() << "read " << i << ": " << s.error_message();
      }
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(ok.load(), kReaders);
  auto upstream = central->Status();
  EXPECT_EQ(upstream->fetches_served(), 1u) << "the upstream answered more than one fetch";
  auto status = edge->Status();
  EXPECT_EQ(status->cache().upstream_fetches(), 1u);
  EXPECT_GT(status->cache().coalesced_waits(), 0u);
  EXPECT_EQ(status->cache().coalesced_waits() + status->cache().hits() + 1, uint64_t{kReaders});
}

TEST_F(CacheEdgeTest, ACachedNotFoundBecomesVisibleWhenTheKeyIsCreated) {
  KvdProcess* central = StartCentral();
  KvdProcess* edge = StartCache("cache", central->address(), {"--max-staleness", "1s"});
  RawKv at_edge(edge->address());
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(at_edge.Get("later", &got).ok());
  EXPECT_FALSE(got.found());
  ASSERT_TRUE(at_edge.Get("later", &got).ok());  // now a cached "not found"
  EXPECT_FALSE(got.found());
  EXPECT_EQ(got.info().source(), kvstore::v1::SOURCE_EDGE_CACHE);
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(RawKv(central->address()).Put("later", "exists", &put).ok());
  absl::Time written = absl::Now();
  // Visible within the bound, from the cache itself (the stream updated the negative entry).
  ASSERT_TRUE(WaitFor(
      [&] {
        kvstore::v1::GetResponse g;
        return at_edge.Get("later", &g).ok() && g.found();
      },
      absl::Seconds(1)));
  EXPECT_LT(absl::Now() - written, absl::Seconds(1));
  ASSERT_TRUE(at_edge.Get("later", &got).ok());
  EXPECT_EQ(got.entry().value(), "exists");
  EXPECT_EQ(got.info().source(), kvstore::v1::SOURCE_EDGE_CACHE);
  EXPECT_EQ(edge->Status()->cache().upstream_fetches(), 1u);
}

TEST_F(CacheEdgeTest, MemoryStaysUnderTheLimitWithATenTimesLargerWorkingSet) {
  KvdProcess* central = StartCentral();
  KvdProcess* edge = StartCache("cache", central->address(), {"--cache-bytes", "2MiB"});
  RawKv writer(central->address());
  std::string value(4000, 'x');
  constexpr int kKeys = 5000;  // ~20 MB of values
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(writer.Put(absl::StrCat("ws/", i), value).ok());
  ASSERT_TRUE(WaitApplied(edge, kKeys));
  RawKv reader(edge->address());
  std::mt19937 rng(3);
  for (int i = 0; i < 4 * kKeys; ++i) {
    kvstore::v1::GetResponse got;
    // Skewed reads: a hot tenth and a long tail.
    int k = (rng() % 2 == 0) ? rng() % (kKeys / 10) : rng() % kKeys;
    ASSERT_TRUE(reader.Get(absl::StrCat("ws/", k), &got).ok());
    ASSERT_EQ(got.entry().value().size(), value.size());
  }
  auto cache = edge->Status()->cache();
  EXPECT_LE(cache.bytes_used(), cache.bytes_limit());
  EXPECT_EQ(cache.bytes_limit(), 2u << 20);
  EXPECT_GT(cache.evictions() + cache.rejections(), 0u);
  EXPECT_GT(cache.hit_ratio(), 0.2);  // the hot tenth stays cached
}

TEST_F(CacheEdgeTest, RestartIsWarmAndResumesTheStream) {
  KvdProcess* central = StartCentral();
  KvdProcess* edge = StartCache("cache", central->address());
  RawKv writer(central->address());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(writer.Put(absl::StrCat("k", i), "v1").ok());
  RawKv reader(edge->address());
  for (int i = 0; i < 50; ++i) {
    kvstore::v1::GetResponse got;
    ASSERT_TRUE(reader.Get(absl::StrCat("k", i), &got).ok());
  }
  EXPECT_EQ(edge->Stop(), 0);
  // Written while the edge is down: the resumed stream must bring it.
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(writer.Put("k7", "v2", &put).ok());
  ASSERT_TRUE(edge->Start().ok());
  ASSERT_TRUE(WaitApplied(edge, put.version()));
  ASSERT_TRUE(WaitReady(edge));
  RawKv reader2(edge->address());
  for (int i = 0; i < 50; ++i) {
    kvstore::v1::GetResponse got;
    ASSERT_TRUE(reader2.Get(absl::StrCat("k", i), &got).ok());
    EXPECT_EQ(got.info().source(), kvstore::v1::SOURCE_EDGE_CACHE) << "k" << i << " was not warm";
    EXPECT_EQ(got.entry().value(), i == 7 ? "v2" : "v1");
  }
  auto status = edge->Status();
  EXPECT_EQ(status->cache().upstream_fetches(), 0u);
  EXPECT_EQ(status->replication().resets(), 0u);
  EXPECT_GE(status->replication().resumes(), 1u);
}

TEST_F(CacheEdgeTest, ExpiredKeysAreNeverServed) {
  // A slow sweep: the edge must judge expiry itself, not wait for the deletion.
  KvdProcess* central = StartCentral({"--expiry-sweep-interval", "1h"});
  KvdProcess* edge = StartCache("cache", central->address());
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(RawKv(central->address()).Put("session", "s", &put, /*ttl=*/1).ok());
  RawKv at_edge(edge->address());
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(at_edge.Get("session", &got).ok());
  ASSERT_TRUE(got.found());
  absl::Time expires = absl::FromUnixSeconds(put.expiration());
  absl::SleepFor(expires - absl::Now() + absl::Milliseconds(50));
  ASSERT_TRUE(at_edge.Get("session", &got).ok());
  EXPECT_FALSE(got.found());
  EXPECT_EQ(got.info().source(), kvstore::v1::SOURCE_EDGE_CACHE);
}

TEST_F(CacheEdgeTest, WithoutItsUpstreamHotKeysServeAndColdKeysFailFast) {
  KvdProcess* central = StartCentral();
  KvdProcess* edge = StartCache("cache", central->address(), {"--max-staleness", "2s"});
  RawKv(central->address()).Put("hot", "h");
  RawKv(central->address()).Put("cold", "c");
  RawKv at_edge(edge->address());
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(at_edge.Get("hot", &got).ok());
  EXPECT_EQ(central->Stop(), 0);
  ASSERT_TRUE(at_edge.Get("hot", &got).ok());
  EXPECT_EQ(got.entry().value(), "h");
  absl::Time start = absl::Now();
  grpc::Status s = at_edge.Get("cold", &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1)) << "a cold read should fail fast";
  // Beyond the bound, hot keys only with allow_stale, labelled.
  absl::SleepFor(absl::Milliseconds(2200));
  EXPECT_EQ(at_edge.Get("hot", &got).error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(at_edge.Get("hot", &got, Bounded(0, true)).ok());
  EXPECT_TRUE(got.info().stale());
  EXPECT_EQ(got.entry().value(), "h");
}

TEST_F(CacheEdgeTest, LargeValuesAreRefetchedAfterTheirInvalidation) {
  KvdProcess* central = StartCentral({"--push-value-limit", "1KiB"});
  KvdProcess* edge = StartCache("cache", central->address());
  RawKv writer(central->address());
  ASSERT_TRUE(writer.Put("doc", "small").ok());
  RawKv at_edge(edge->address());
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(at_edge.Get("doc", &got).ok());
  std::string big(50000, 'B');
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(writer.Put("doc", big, &put).ok());
  ASSERT_TRUE(WaitApplied(edge, put.version()));
  ASSERT_TRUE(at_edge.Get("doc", &got).ok());
  EXPECT_EQ(got.entry().value(), big);
  EXPECT_EQ(got.entry().version(), put.version());
  ASSERT_TRUE(at_edge.Get("doc", &got).ok());
  EXPECT_EQ(got.info().source(), kvstore::v1::SOURCE_EDGE_CACHE);
}

TEST_F(CacheEdgeTest, ClientSessionsReadTheirWritesAcrossTwoEdges) {
  KvdProcess* central = StartCentral();
  KvdProcess* a = StartCache("cache-a", central->address());
  KvdProcess* b = StartCache("cache-b", central->address());
  client::ClientOptions options;
  options.write_endpoint = central->address();
  options.read_endpoints = {a->address(), b->address()};
  auto writer = client::Client::Create(options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  client::ClientOptions via_b = options;
  via_b.read_endpoints = {b->address()};
  auto reader_b = client::Client::Create(via_b);
  ASSERT_TRUE(reader_b.ok());
  for (int i = 0; i < 100; ++i) {
    std::string value = absl::StrCat("v", i);
    auto put = (*writer)->Put("profile", value);
    ASSERT_TRUE(put.ok()) << put.status();
    auto got = (*writer)->Get("profile");  // through edge a, with the session's min_version
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->entry.value, value);
    // Carry the session to a client that reads through edge b.
    (*reader_b)->SetSessionVersion((*writer)->session_version());
    auto got_b = (*reader_b)->Get("profile");
    ASSERT_TRUE(got_b.ok()) << got_b.status();
    EXPECT_EQ(got_b->entry.value, value);
  }
}

}  // namespace
}  // namespace kv::testing

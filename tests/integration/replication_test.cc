// Replication end to end: a central node, full edges and a relay-fed edge as real processes on
// loopback. Convergence under mixed writes, restarts that resume, RESET after retention, the
// central node going away and coming back, read-your-writes and monotonic reads.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kvd_process.h"
#include "tests/support/raw_kv.h"
#include "tests/support/temp_dir.h"

namespace kv::testing {
namespace {

class ReplicationTest : public ClusterFixture {
 protected:
  // Expiring keys are swept quickly, so the tests see their deletions replicated.
  KvdProcess* StartCentral(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--expiry-sweep-interval", "200ms"});
    return ClusterFixture::StartCentral(std::move(extra));
  }
  KvdProcess* StartEdge(const std::string& name, const std::string& upstream,
                        std::vector<std::string> extra = {}) {
    return ClusterFixture::StartEdge(name, upstream, "full", std::move(extra));
  }
};

// Random puts, overwrites, deletes and expiring keys from several writers.
void RandomWrites(const std::string& address, int writers, int ops_per_writer, uint64_t seed) {
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      RawKv kv(address);
      std::mt19937_64 rng(seed + w);
      for (int i = 0; i < ops_per_writer; ++i) {
        std::string key = absl::StrCat("key/", rng() % 400);
        int dice = rng() % 10;
        if (dice < 6) {
          ASSERT_TRUE(
              kv.Put(key, absl::StrCat("v", w, "-", i, std::string(rng() % 200, 'x'))).ok());
        } else if (dice < 8) {
          ASSERT_TRUE(kv.Delete(key).ok());
        } else {
          ASSERT_TRUE(kv.Put(key, absl::StrCat("ttl", w, "-", i), nullptr, 1 + rng() % 2).ok());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
}

TEST_F(ReplicationTest, EveryNodeConvergesToTheCentralContent) {
  KvdProcess* central = StartCentral();
  KvdProcess* e1 = StartEdge("e1", central->address());
  KvdProcess* e2 = StartEdge("e2", central->address());
  KvdProcess* e3 = StartEdge("e3", e1->address());  // behind the relay e1
  RandomWrites(central->address(), 4, 1000, 7);
  // Let TTLs run out and the sweep log their deletions, then compare quiet states: the head
  // has not moved for a second (on a loaded machine the sweep may take a while).
  absl::SleepFor(absl::Seconds(3));
  uint64_t head = 0;
  absl::Time since = absl::Now();
  ASSERT_TRUE(WaitFor(
      [&] {
        uint64_t now_head = central->Status()->head_version();
        if (now_head != head) {
          head = now_head;
          since = absl::Now();
        }
        return absl::Now() - since >= absl::Seconds(1);
      },
      absl::Seconds(30)));
  std::map<std::string, std::string> expected;
  ASSERT_TRUE(RawKv(central->address()).Content(&expected).ok());
  ASSERT_GT(expected.size(), 50u);
  for (KvdProcess* edge : {e1, e2, e3}) {
    ASSERT_TRUE(WaitApplied(edge, head)) << edge->name();
    EXPECT_EQ(edge->Status()->head_version(), head) << edge->name();
    std::map<std::string, std::string> content;
    ASSERT_TRUE(RawKv(edge->address()).Content(&content).ok());
    EXPECT_TRUE(content == expected)
        << edge->name() << " holds " << content.size() << " keys, central " << expected.size();
  }
  auto relay = e1->Status();
  ASSERT_EQ(relay->downstreams_size(), 1);
  EXPECT_EQ(relay->downstreams(0).node_id(), "e3");
  auto status = central->Status();
  EXPECT_EQ(status->downstreams_size(), 2);
  for (const auto& d : status->downstreams()) EXPECT_EQ(d.acked_version(), head);
}

TEST_F(ReplicationTest, RestartedEdgeResumesWithoutASnapshot) {
  KvdProcess* central = StartCentral();
  KvdProcess* edge = StartEdge("e1", central->address());
  std::atomic<bool> stop{false};
  std::thread load([&] {
    RawKv kv(central->address());
    for (int i = 0; !stop.load(); ++i) kv.Put(absl::StrCat("load/", i % 500), absl::StrCat(i));
  });
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(edge->Stop(), 0);
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_TRUE(edge->Start().ok());
  absl::SleepFor(absl::Milliseconds(500));
  stop = true;
  load.join();
  uint64_t head = central->Status()->head_version();
  ASSERT_TRUE(WaitApplied(edge, head));
  auto status = edge->Status();
  EXPECT_EQ(status->replication().snapshots(), 0u) << "restart took a snapshot";
  EXPECT_GE(status->replication().resumes(), 1u);
  std::map<std::string, std::string> a, b;
  ASSERT_TRUE(RawKv(central->address()).Content(&a).ok());
  ASSERT_TRUE(RawKv(edge->address()).Content(&b).ok());
  EXPECT_TRUE(a == b);
}

TEST_F(ReplicationTest, EdgeBehindTheRetainedLogIsResetAndSnapshotsAgain) {
  KvdProcess* central =
      StartCentral({"--log-retention-entries", "100", "--log-retention-interval", "100ms"});
  KvdProcess* edge = StartEdge("e1", central->address());
  RawKv kv(central->address());
  ASSERT_TRUE(kv.Put("before", "1").ok());
  ASSERT_TRUE(WaitApplied(edge, 1));
  EXPECT_EQ(edge->Stop(), 0);
  for (int i = 0; i < 500; ++i)
    ASSERT_TRUE(kv.Put(absl::StrCat("k", i % 50), absl::StrCat(i)).ok());
  ASSERT_TRUE(
      WaitFor([&] { return central->Status()->oldest_log_version() > 2; }, absl::Seconds(10)));
  ASSERT_TRUE(edge->Start().ok());
  uint64_t head = central->Status()->head_version();
  ASSERT_TRUE(WaitApplied(edge, head));
  auto status = edge->Status();
  EXPECT_GE(status->replication().resets(), 1u);
  EXPECT_GE(status->replication().snapshots(), 1u);
  std::map<std::string, std::string> a, b;
  ASSERT_TRUE(kv.Content(&a).ok());
  ASSERT_TRUE(RawKv(edge->address()).Content(&b).ok());
  EXPECT_TRUE(a == b);
}

TEST_F(ReplicationTest, CentralNodeOutageIsBoundedThenHealsWithoutAction) {
  KvdProcess* central = StartCentral();
  KvdProcess* edge = StartEdge("e1", central->address(), {"--max-staleness", "1s"});
  RawKv kv(central->address());
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(kv.Put("flag", "on", &put).ok());
  ASSERT_TRUE(WaitApplied(edge, put.version()));
  ASSERT_TRUE(WaitReady(edge));
  EXPECT_EQ(central->Stop(), 0);

  RawKv at_edge(edge->address());
  kvstore::v1::GetResponse got;
  // Within the bound the edge still answers from its store.
  grpc::Status s = at_edge.Get("flag", &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.entry().value(), "on");
  EXPECT_EQ(got.info().source(), kvstore::v1::SOURCE_EDGE_STORE);
  EXPECT_LE(got.info().staleness_micros(), 1000000);
  // Beyond it, a bounded read is refused and says how stale the edge is...
  absl::SleepFor(absl::Milliseconds(1300));
  s = at_edge.Get("flag", &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find("stale"), std::string::npos) << s.error_message();
  EXPECT_FALSE(edge->Status()->ready());
  // ...unless the caller accepts stale data, and then it is labelled.
  got.Clear();
  s = at_edge.Get("flag", &got, Bounded(0, /*allow_stale=*/true));
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(got.info().stale());
  EXPECT_GT(got.info().staleness_micros(), 1000000);
  EXPECT_EQ(got.entry().value(), "on");
  // The central node returns: the edge recovers by itself.
  ASSERT_TRUE(central->Start().ok());
  ASSERT_TRUE(WaitReady(edge));
  ASSERT_TRUE(kv.Put("flag", "off", &put).ok());
  ASSERT_TRUE(WaitApplied(edge, put.version()));
  got.Clear();
  ASSERT_TRUE(at_edge.Get("flag", &got).ok());
  EXPECT_EQ(got.entry().value(), "off");
  EXPECT_FALSE(got.info().stale());
}

// An edge that forwards a read because it is staler than its bound passes that bound on: a relay
// (or a standby central node) with a looser default must not answer with data the edge itself
// was too stale to serve. The HA history checker caught a cache edge (bound 1 s) passing on
// a standby's answer (default bound 5 s) after a leader kill.
TEST_F(ReplicationTest, AnEdgeBehindALooserRelayKeepsItsOwnBound) {
  KvdProcess* central = StartCentral();
  KvdProcess* relay = StartEdge("relay", central->address(), {"--max-staleness", "60s"});
  KvdProcess* full = StartEdge("full", relay->address(), {"--max-staleness", "1s"});
  KvdProcess* cache =
      ClusterFixture::StartEdge("cache", relay->address(), "cache", {"--max-staleness", "1s"});
  RawKv kv(central->address());
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(kv.Put("flag", "on", &put).ok());
  for (KvdProcess* edge : {relay, full, cache}) {
    ASSERT_TRUE(WaitApplied(edge, put.version()));
    ASSERT_TRUE(WaitReady(edge));
  }
  EXPECT_EQ(central->Stop(), 0);
  absl::SleepFor(absl::Milliseconds(1500));
  // The relay may still answer by its own 60 s bound...
  kvstore::v1::GetResponse got;
  grpc::Status s = RawKv(relay->address()).Get("flag", &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(got.info().staleness_micros(), 1000000);
  // ...but the edges behind it, 1.5 s stale with a 1 s bound, must not pass that answer on:
  // Get, BatchGet and List are each refused as too stale.
  for (KvdProcess* edge : {full, cache}) {
    RawKv at_edge(edge->address());
    auto expect_refused = [&](const char* call, const grpc::Status& status,
                              const kvstore::v1::ReadInfo& info) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
          << edge->name() << " " << call << " answered with staleness " << info.staleness_micros()
          << " us";
    };
    got.Clear();
    expect_refused("Get", at_edge.Get("flag", &got), got.info());
    grpc::ClientContext batch_ctx;
    kvstore::v1::BatchGetRequest batch;
    batch.add_keys("flag");
    kvstore::v1::BatchGetResponse batch_got;
    expect_refused("BatchGet", at_edge.stub->BatchGet(&batch_ctx, batch, &batch_got),
                   batch_got.info());
    grpc::ClientContext list_ctx;
    kvstore::v1::ListRequest list;
    list.set_prefix("fl");
    kvstore::v1::ListResponse list_got;
    expect_refused("List", at_edge.stub->List(&list_ctx, list, &list_got), list_got.info());
  }
}

TEST_F(ReplicationTest, ReadYourWritesAndMonotonicVersionsAtEveryNode) {
  KvdProcess* central = StartCentral();
  KvdProcess* e1 = StartEdge("e1", central->address());
  KvdProcess* e2 = StartEdge("e2", e1->address());
  RawKv writer(central->address());
  RawKv r1(e1->address()), r2(e2->address());
  uint64_t last_seen[2] = {0, 0};
  for (int i = 0; i < 300; ++i) {
    kvstore::v1::PutResponse put;
    ASSERT_TRUE(writer.Put("ryw", absl::StrCat(i), &put).ok());
    int n = 0;
    for (RawKv* reader : {&r1, &r2}) {
      kvstore::v1::GetResponse got;
      grpc::Status s = reader->Get("ryw", &got, MinVersion(put.version()));
      ASSERT_TRUE(s.ok()) << s.error_message();
      ASSERT_TRUE(got.found());
      EXPECT_GE(got.entry().version(), put.version()) << "read " << i << " missed its write";
      EXPECT_GE(got.info().as_of_version(), put.version());
      EXPECT_GE(got.entry().version(), last_seen[n]) << "versions went backwards";
      last_seen[n++] = got.entry().version();
    }
  }
}

TEST_F(ReplicationTest, WritesSentToAnyEdgeReachTheCentralNode) {
  KvdProcess* central = StartCentral();
  KvdProcess* e1 = StartEdge("e1", central->address());
  KvdProcess* e2 = StartEdge("e2", e1->address());
  RawKv at_leaf(e2->address());
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(at_leaf.Put("from-leaf", "hello", &put).ok());
  EXPECT_GT(put.version(), 0u);
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(RawKv(central->address()).Get("from-leaf", &got).ok());
  EXPECT_EQ(got.entry().version(), put.version());
  // A strong read at the leaf is answered by the central node.
  ASSERT_TRUE(at_leaf.Get("from-leaf", &got, Strong()).ok());
  EXPECT_EQ(got.info().source(), kvstore::v1::SOURCE_CENTRAL);
  // Bad input is rejected at the edge itself.
  grpc::Status bad = at_leaf.Put("", "x");
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ReplicationTest, LargeValuesTravelAsInvalidationsAndAreFetched) {
  KvdProcess* central = StartCentral({"--push-value-limit", "1KiB"});
  KvdProcess* e1 = StartEdge("e1", central->address(), {"--push-value-limit", "1KiB"});
  KvdProcess* e2 = StartEdge("e2", e1->address());
  RawKv kv(central->address());
  std::string big(100 * 1024, 'B');
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(kv.Put("big", big, &put).ok());
  ASSERT_TRUE(kv.Put("small", "s").ok());
  for (KvdProcess* edge : {e1, e2}) {
    ASSERT_TRUE(WaitApplied(edge, put.version() + 1));
    kvstore::v1::GetResponse got;
    ASSERT_TRUE(RawKv(edge->address()).Get("big", &got, MinVersion(put.version())).ok());
    EXPECT_EQ(got.entry().value(), big) << edge->name();
    // The background fetch lands the value locally.
    ASSERT_TRUE(WaitFor(
        [&] {
          kvstore::v1::GetResponse g;
          return RawKv(edge->address()).Get("big", &g).ok() &&
                 g.info().source() == kvstore::v1::SOURCE_EDGE_STORE && g.entry().value() == big;
        },
        absl::Seconds(10)))
        << edge->name();
  }
}

TEST_F(ReplicationTest, EdgeWithoutAnUpstreamWaitsAndServesNothingStale) {
  TempDir other;
  KvdProcess* edge = StartEdge("lonely", "127.0.0.1:1", {"--max-staleness", "1s"});
  auto status = edge->Status();
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->ready());
  EXPECT_NE(status->replication().state(), "streaming");
  kvstore::v1::GetResponse got;
  grpc::Status s = RawKv(edge->address()).Get("anything", &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find("127.0.0.1:1"), std::string::npos) << s.error_message();
  EXPECT_NE(edge->ReadLog().find("waiting for upstream"), std::string::npos);
}

}  // namespace
}  // namespace kv::testing

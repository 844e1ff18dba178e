// Mistakes an operator (or a hostile peer) can make, refused by real kvd processes on loopback
// (docs/faults.md, "Mistakes refused"):
//   - a node started on another role's data directory refuses to start and changes nothing;
//   - an edge whose upstream serves another cluster keeps its data and stays not ready, unless
//     started with --allow-cluster-change;
//   - an edge following itself, or two edges following each other, say "replication cycle",
//     and a read sent into the ring ends at once instead of bouncing;
//   - a downstream that lies in its hello or its acknowledgements is cut off, and the real
//     edge's row at the upstream stays right.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "kvstore/v1/admin.pb.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "replication/testing/raw_subscriber.h"
#include "server/http/http_test_client.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kvd_process.h"
#include "tests/support/raw_kv.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"

namespace kv::testing {
namespace {

namespace fs = std::filesystem;
using server::testing::HttpResult;

// Every file under `dir` (relative path -> content): a directory left "untouched" compares equal.
std::map<std::string, std::string> Fingerprint(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    files[fs::relative(entry.path(), dir).string()] = ss.str();
  }
  return files;
}

std::vector<std::string> Names(const std::map<std::string, std::string>& files) {
  std::vector<std::string> names;
  for (const auto& [name, content] : files) names.push_back(name);
  return names;
}

// One HTTP/1.1 GET, answered and closed.
absl::StatusOr<HttpResult> HttpGet(const std::string& address, const std::string& target) {
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port)) {
    return absl::InvalidArgumentError(address);
  }
  server::testing::TestHttpClient client(port);
  if (absl::Status s = client.Connect(); !s.ok()) return s;
  if (absl::Status s = client.SendRaw(absl::StrCat("GET ", target,
                                                   " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                   "Connection: close\r\n\r\n"));
      !s.ok()) {
    return s;
  }
  return client.Read();
}

// Sum of every `family{...} value` line whose labels contain `label`.
double SumSeries(const std::string& metrics, const std::string& family, const std::string& label) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (!absl::StartsWith(line, family + "{") || !absl::StrContains(line, label)) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) sum += v;
  }
  return sum;
}

// Resident memory of a process in bytes (0 when unknown).
uint64_t RssBytes(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest(line);
    if (!absl::ConsumePrefix(&rest, "VmRSS:")) continue;
    uint64_t kib = 0;
    if (absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(rest), " kB"), &kib)) {
      return kib << 10;
    }
  }
  return 0;
}

class MistakesTest : public ::testing::Test {
 protected:
  // A process `name` (its log is `name`.log) with `args`; not started.
  KvdProcess* Node(const std::string& name, std::vector<std::string> args) {
    nodes_.push_back(std::make_unique<KvdProcess>(name, std::move(args), dir_.path()));
    return nodes_.back().get();
  }
  KvdProcess* StartNode(const std::string& name, std::vector<std::string> args) {
    KvdProcess* node = Node(name, std::move(args));
    absl::Status started = node->Start();
    EXPECT_TRUE(started.ok()) << started;
    return node;
  }
  std::vector<std::string> Central(const std::string& data, const std::string& id) {
    return {"central", "--data-dir", dir_.Sub(data), "--node-id", id, "--http", "127.0.0.1:0"};
  }
  std::vector<std::string> Edge(const std::string& mode, const std::string& upstream,
                                const std::string& data, const std::string& id,
                                std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"edge",   "--mode",     mode,           "--upstream",
                                     upstream, "--data-dir", dir_.Sub(data), "--node-id",
                                     id,       "--http",     "127.0.0.1:0",  "--max-staleness",
                                     "2s"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // A start that must be refused: the process exits non-zero before serving, saying `words`.
  void ExpectRefused(const std::string& name, std::vector<std::string> args,
                     const std::vector<std::string>& words) {
    KvdProcess* node = Node(name, std::move(args));
    absl::Status started = node->Start(absl::Seconds(20));
    ASSERT_FALSE(started.ok()) << name << " started although it must be refused";
    EXPECT_FALSE(absl::StrContains(started.message(), "(status 0)")) << started;
    std::string log = node->ReadLog();
    for (const auto& w : words) EXPECT_TRUE(absl::StrContains(log, w)) << w << " not in:\n" << log;
  }

  static kvstore::v1::StatusResponse StatusOf(KvdProcess* node) {
    auto s = node->Status();
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : kvstore::v1::StatusResponse();
  }
  static bool Ready(KvdProcess* node, absl::Duration timeout = absl::Seconds(30)) {
    return WaitFor(
        [&] {
          auto s = node->Status();
          return s.ok() && s->ready();
        },
        timeout, absl::Milliseconds(50));
  }
  static bool Applied(KvdProcess* node, uint64_t version) {
    return WaitFor(
        [&] {
          auto s = node->Status();
          return s.ok() && s->head_version() >= version;
        },
        absl::Seconds(30), absl::Milliseconds(50));
  }
  // Waits until the node's replication error contains `text`; returns the last error seen.
  static std::string WaitStreamError(KvdProcess* node, const std::string& text,
                                     absl::Duration timeout = absl::Seconds(20)) {
    std::string last;
    WaitFor(
        [&] {
          auto s = node->Status();
          if (s.ok()) last = s->replication().last_error();
          return absl::StrContains(last, text);
        },
        timeout, absl::Milliseconds(50));
    return last;
  }

  // Puts key/1..key/n on `central`; returns the last version.
  static uint64_t PutKeys(KvdProcess* central, const std::string& prefix, int n) {
    RawKv kv(central->address());
    uint64_t version = 0;
    for (int i = 1; i <= n; ++i) {
      kvstore::v1::PutResponse put;
      grpc::Status s = kv.Put(absl::StrCat(prefix, i), absl::StrCat("value-", prefix, i), &put);
      EXPECT_TRUE(s.ok()) << s.error_message();
      version = put.version();
    }
    return version;
  }

  void TearDown() override {
    if (!HasFailure()) return;
    for (auto& n : nodes_) std::cerr << "---- " << n->name() << " ----\n" << n->ReadLog();
  }

  TempDir dir_;
  std::vector<std::unique_ptr<KvdProcess>> nodes_;
};

// --- Data directories -----------------------------------------------------------------------

TEST_F(MistakesTest, AnEdgeOnACentralNodesDirectoryIsRefusedAndChangesNothing) {
  KvdProcess* central = StartNode("central", Central("central", "central"));
  const uint64_t head = PutKeys(central, "k/", 20);
  const std::string cluster = StatusOf(central).cluster_id();
  ASSERT_EQ(central->Stop(), 0);
  const auto before = Fingerprint(dir_.Sub("central"));
  ASSERT_TRUE(before.count("KV_ROLE")) << "a new directory is stamped";

  // The refusal comes before any connection: the upstream need not even be up.
  ExpectRefused("full-on-central", Edge("full", DeadAddress(), "central", "full-on-central"),
                {"refusing to open it as role 'edge-full'", "stamped for role 'central'",
                 dir_.Sub("central")});
  ExpectRefused("cache-on-central", Edge("cache", DeadAddress(), "central", "cache-on-central"),
                {"refusing to open it as role 'edge-cache'", "stamped for role 'central'"});

  const auto after = Fingerprint(dir_.Sub("central"));
  EXPECT_EQ(Names(after), Names(before));
  EXPECT_TRUE(after == before) << "a file of the central node's directory changed";

  // The central node opens it as before: same cluster, same head, same keys.
  ASSERT_TRUE(central->Start().ok()) << central->ReadLog();
  auto status = StatusOf(central);
  EXPECT_EQ(status.cluster_id(), cluster);
  EXPECT_EQ(status.head_version(), head);
  RawKv kv(central->address());
  std::map<std::string, std::string> content;
  ASSERT_TRUE(kv.Content(&content).ok());
  EXPECT_EQ(content.size(), 20u);
}

TEST_F(MistakesTest, ACentralNodeOnAnEdgesDirectoryIsRefusedAndChangesNothing) {
  KvdProcess* central = StartNode("central", Central("central", "central"));
  const uint64_t head = PutKeys(central, "k/", 10);
  KvdProcess* full = StartNode("full", Edge("full", central->address(), "full", "full"));
  KvdProcess* cache = StartNode("cache", Edge("cache", central->address(), "cache", "cache"));
  ASSERT_TRUE(Applied(full, head));
  ASSERT_TRUE(Ready(cache));
  ASSERT_EQ(full->Stop(), 0);
  ASSERT_EQ(cache->Stop(), 0);
  const auto full_before = Fingerprint(dir_.Sub("full"));
  const auto cache_before = Fingerprint(dir_.Sub("cache"));

  ExpectRefused(
      "central-on-full", Central("full", "central-2"),
      {"stamped for role 'edge-full'", "refusing to open it as role 'central'", dir_.Sub("full")});
  ExpectRefused("central-on-cache", Central("cache", "central-3"),
                {"stamped for role 'edge-cache'", "refusing to open it as role 'central'"});
  ExpectRefused("full-on-cache", Edge("full", central->address(), "cache", "full-2"),
                {"stamped for role 'edge-cache'", "refusing to open it as role 'edge-full'"});
  ExpectRefused("cache-on-full", Edge("cache", central->address(), "full", "cache-2"),
                {"stamped for role 'edge-full'", "refusing to open it as role 'edge-cache'"});
  EXPECT_TRUE(Fingerprint(dir_.Sub("full")) == full_before);
  EXPECT_TRUE(Fingerprint(dir_.Sub("cache")) == cache_before);

  // The full edge resumes from its own data: no snapshot.
  ASSERT_TRUE(full->Start().ok()) << full->ReadLog();
  ASSERT_TRUE(Ready(full));
  EXPECT_EQ(StatusOf(full).replication().snapshots(), 0u);
  EXPECT_EQ(StatusOf(full).head_version(), head);
}

TEST_F(MistakesTest, ADirectoryWithoutAStampIsAdoptedWithALogLine) {
  KvdProcess* central = StartNode("central", Central("central", "central"));
  const uint64_t head = PutKeys(central, "k/", 3);
  ASSERT_EQ(central->Stop(), 0);
  // What a build before stamps left behind.
  ASSERT_TRUE(fs::remove(dir_.Sub("central") + "/KV_ROLE"));
  ASSERT_TRUE(central->Start().ok()) << central->ReadLog();
  EXPECT_EQ(StatusOf(central).head_version(), head);
  EXPECT_TRUE(absl::StrContains(central->ReadLog(), "adopting it as central"));
  std::ifstream in(dir_.Sub("central") + "/KV_ROLE");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_TRUE(absl::StrContains(ss.str(), "role=central\n")) << ss.str();
}

// --- Another cluster ------------------------------------------------------------------------

TEST_F(MistakesTest, AnEdgeOfAnotherClusterKeepsItsDataUntilAllowedToChange) {
  KvdProcess* a = StartNode("central-a", Central("central-a", "central-a"));
  const uint64_t head_a = PutKeys(a, "a/", 10);
  const std::string cluster_a = StatusOf(a).cluster_id();
  KvdProcess* full = StartNode("full", Edge("full", a->address(), "full", "full"));
  KvdProcess* cache = StartNode("cache", Edge("cache", a->address(), "cache", "cache"));
  ASSERT_TRUE(Applied(full, head_a));
  ASSERT_TRUE(Ready(full));
  ASSERT_TRUE(Ready(cache));
  {
    RawKv kv(cache->address());
    kvstore::v1::GetResponse got;
    ASSERT_TRUE(kv.Get("a/1", &got).ok());  // cached
  }
  ASSERT_EQ(full->Stop(), 0);
  ASSERT_EQ(cache->Stop(), 0);

  KvdProcess* b = StartNode("central-b", Central("central-b", "central-b"));
  const uint64_t head_b = PutKeys(b, "b/", 25);
  const std::string cluster_b = StatusOf(b).cluster_id();
  ASSERT_NE(cluster_a, cluster_b);
  ASSERT_NE(head_a, head_b);

  // Pointed at cluster B: refused, data kept, not ready, and the reason names both clusters.
  KvdProcess* full_b = StartNode("full-to-b", Edge("full", b->address(), "full", "full"));
  KvdProcess* cache_b = StartNode("cache-to-b", Edge("cache", b->address(), "cache", "cache"));
  for (KvdProcess* edge : {full_b, cache_b}) {
    std::string error = WaitStreamError(edge, "cluster mismatch");
    EXPECT_TRUE(absl::StrContains(error, cluster_a)) << error;
    EXPECT_TRUE(absl::StrContains(error, cluster_b)) << error;
    EXPECT_TRUE(absl::StrContains(error, "--allow-cluster-change")) << error;
  }
  absl::SleepFor(absl::Seconds(3));  // several reconnects: each is refused the same way
  for (KvdProcess* edge : {full_b, cache_b}) {
    auto status = StatusOf(edge);
    EXPECT_FALSE(status.ready());
    EXPECT_EQ(status.cluster_id(), cluster_a) << edge->name();
    EXPECT_EQ(status.replication().resets(), 0u) << edge->name();
    EXPECT_EQ(status.replication().snapshots(), 0u) << edge->name();
    auto ready = HttpGet(edge->http_address(), "/readyz");
    ASSERT_TRUE(ready.ok()) << ready.status();
    EXPECT_EQ(ready->result_int(), 503);
    EXPECT_TRUE(absl::StrContains(ready->body(), cluster_b)) << ready->body();
    EXPECT_TRUE(absl::StrContains(edge->ReadLog(), "cluster mismatch"));
    std::cerr << "[cluster] " << edge->name() << " /readyz: " << ready->body() << "\n";
  }
  EXPECT_EQ(StatusOf(full_b).head_version(), head_a);
  EXPECT_EQ(StatusOf(cache_b).head_version(), head_a);
  ASSERT_EQ(full_b->Stop(), 0);
  ASSERT_EQ(cache_b->Stop(), 0);

  // Its data was kept: pointed back at A it resumes without a snapshot and serves A's keys.
  KvdProcess* full_a = StartNode("full-back-to-a", Edge("full", a->address(), "full", "full"));
  ASSERT_TRUE(Ready(full_a));
  EXPECT_EQ(StatusOf(full_a).replication().snapshots(), 0u);
  {
    RawKv kv(full_a->address());
    kvstore::v1::GetResponse got;
    ASSERT_TRUE(kv.Get("a/7", &got).ok());
    EXPECT_TRUE(got.found());
    EXPECT_EQ(got.info().source(), kvstore::v1::SOURCE_EDGE_STORE);
  }
  ASSERT_EQ(full_a->Stop(), 0);

  // With --allow-cluster-change both converge to B.
  KvdProcess* full_moved = StartNode(
      "full-moved", Edge("full", b->address(), "full", "full", {"--allow-cluster-change"}));
  KvdProcess* cache_moved = StartNode(
      "cache-moved", Edge("cache", b->address(), "cache", "cache", {"--allow-cluster-change"}));
  ASSERT_TRUE(Ready(full_moved));
  ASSERT_TRUE(Ready(cache_moved));
  for (KvdProcess* edge : {full_moved, cache_moved}) {
    auto status = StatusOf(edge);
    EXPECT_EQ(status.cluster_id(), cluster_b) << edge->name();
    EXPECT_EQ(status.head_version(), head_b) << edge->name();
    RawKv kv(edge->address());
    kvstore::v1::GetResponse got;
    ASSERT_TRUE(kv.Get("b/3", &got).ok());
    EXPECT_TRUE(got.found());
    ASSERT_TRUE(kv.Get("a/1", &got).ok());
    EXPECT_FALSE(got.found()) << edge->name() << " still answers cluster A's key";
  }
  EXPECT_EQ(StatusOf(full_moved).replication().snapshots(), 1u);
}

// --- Replication loops ----------------------------------------------------------------------

// A Get into the ring must end at once with an error, and cost each node a bounded number of
// calls (kMaxForwardingHops = 16 forwards in all), not thousands.
void ExpectGetEndsQuickly(const std::vector<KvdProcess*>& ring) {
  std::vector<uint64_t> rss_before;
  for (KvdProcess* n : ring) rss_before.push_back(RssBytes(n->pid()));
  RawKv kv(ring[0]->address());
  for (int i = 0; i < 5; ++i) {
    kvstore::v1::GetResponse got;
    absl::Time start = absl::Now();
    grpc::Status s = kv.Get("any", &got, {}, /*deadline_ms=*/3000);
    absl::Duration took = absl::Now() - start;
    EXPECT_FALSE(s.ok());
    EXPECT_LT(took, absl::Seconds(2)) << s.error_message();
    if (i == 0) std::cerr << "[loop] a Get into the ring: " << s.error_message() << "\n";
  }
  double gets = 0;
  for (KvdProcess* n : ring) {
    auto metrics = HttpGet(n->http_address(), "/metrics");
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    gets += SumSeries(metrics->body(), "kv_requests_total", "method=\"Get\"");
  }
  std::cerr << "[loop] " << gets << " Gets served by " << ring.size() << " nodes for 5 reads\n";
  EXPECT_GE(gets, 5);
  EXPECT_LE(gets, 5 * 20);
  for (size_t i = 0; i < ring.size(); ++i) {
    uint64_t after = RssBytes(ring[i]->pid());
    EXPECT_LT(after, rss_before[i] + (64ull << 20)) << ring[i]->name() << " grew";
  }
}

TEST_F(MistakesTest, AnEdgeFollowingItselfIsRefusedWithACycleError) {
  const std::string self = DeadAddress();
  KvdProcess* edge = StartNode("self", Edge("full", self, "self", "self", {"--listen", self}));
  std::string error = WaitStreamError(edge, "replication cycle");
  EXPECT_TRUE(absl::StrContains(error, "self -> self")) << error;
  auto ready = HttpGet(edge->http_address(), "/readyz");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->result_int(), 503);
  EXPECT_TRUE(absl::StrContains(ready->body(), "replication cycle")) << ready->body();
  ExpectGetEndsQuickly({edge});
}

TEST_F(MistakesTest, TwoEdgesFollowingEachOtherAreRefusedWithACycleError) {
  const std::string x_address = DeadAddress();
  std::string y_address = DeadAddress();
  while (y_address == x_address) y_address = DeadAddress();
  KvdProcess* x =
      StartNode("edge-x", Edge("full", y_address, "edge-x", "edge-x", {"--listen", x_address}));
  KvdProcess* y =
      StartNode("edge-y", Edge("full", x_address, "edge-y", "edge-y", {"--listen", y_address}));
  for (KvdProcess* edge : {x, y}) {
    std::string error = WaitStreamError(edge, "replication cycle");
    EXPECT_TRUE(absl::StrContains(error, "edge-x")) << error;
    EXPECT_TRUE(absl::StrContains(error, "edge-y")) << error;
    auto ready = HttpGet(edge->http_address(), "/readyz");
    ASSERT_TRUE(ready.ok()) << ready.status();
    EXPECT_EQ(ready->result_int(), 503);
    EXPECT_TRUE(absl::StrContains(ready->body(), "replication cycle")) << ready->body();
  }
  ExpectGetEndsQuickly({x, y});
}

// --- Hostile downstreams --------------------------------------------------------------------

TEST_F(MistakesTest, ADownstreamThatLiesIsCutOffAndTheRealEdgesRowStaysRight) {
  KvdProcess* central = StartNode("central", Central("central", "central"));
  const uint64_t head = PutKeys(central, "k/", 10);
  const std::string cluster = StatusOf(central).cluster_id();
  KvdProcess* edge = StartNode("edge-1", Edge("full", central->address(), "edge-1", "edge-1"));
  ASSERT_TRUE(Applied(edge, head));
  auto stub = central->ReplicationStub();
  auto hello = [&] {
    return RawSubscriber::Hello().set_from_version(head + 1).set_cluster_id(cluster);
  };

  {  // A 5 MiB node id.
    RawSubscriber fake(stub.get(), hello().set_node_id(std::string(5 << 20, 'n')));
    ASSERT_TRUE(fake.WaitEnded(absl::Seconds(10)));
    grpc::Status s = fake.status();
    EXPECT_TRUE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
                s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
        << s.error_code() << " " << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "node id")) << s.error_message();
    std::cerr << "[hostile] 5 MiB node id: " << s.error_code() << " " << s.error_message() << "\n";
  }
  {  // An unknown mode.
    RawSubscriber fake(stub.get(), hello().set_mode("relay-of-doom"));
    ASSERT_TRUE(fake.WaitEnded(absl::Seconds(10)));
    EXPECT_EQ(fake.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StrContains(fake.status().error_message(), "mode"))
        << fake.status().error_message();
  }
  {  // An acknowledgement of a version never sent.
    RawSubscriber fake(stub.get(), hello());
    ASSERT_TRUE(fake.WaitUntil(
        [](const std::vector<RawSubscriber::Received>& r) {
          for (const auto& m : r) {
            if (m.message.has_start()) return true;
          }
          return false;
        },
        absl::Seconds(10)));
    fake.Ping(1, 1'000'000'000'000'000'000ull);
    ASSERT_TRUE(fake.WaitEnded(absl::Seconds(10)));
    EXPECT_EQ(fake.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StrContains(fake.status().error_message(), "never sent"))
        << fake.status().error_message();
  }
  {  // The live edge's node id: one stream per node id, and the real edge takes its id back.
    RawSubscriber fake(stub.get(), hello().set_node_id("edge-1").set_address("127.0.0.1:9"));
    ASSERT_TRUE(fake.WaitEnded(absl::Seconds(20)));
    EXPECT_EQ(fake.status().error_code(), grpc::StatusCode::ABORTED)
        << fake.status().error_message();
    EXPECT_TRUE(absl::StrContains(fake.status().error_message(), "same node id"))
        << fake.status().error_message();
  }

  // The upstream's table: the real edge, once, with its own address and an honest lag.
  const uint64_t head2 = PutKeys(central, "more/", 3);
  ASSERT_TRUE(Applied(edge, head2));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = central->Status();
        return s.ok() && s->downstreams_size() == 1 && s->downstreams(0).acked_version() == head2;
      },
      absl::Seconds(10), absl::Milliseconds(50)))
      << StatusOf(central).DebugString();
  auto status = StatusOf(central);
  ASSERT_EQ(status.downstreams_size(), 1);
  EXPECT_EQ(status.downstreams(0).node_id(), "edge-1");
  EXPECT_EQ(status.downstreams(0).address(), edge->address());
  EXPECT_EQ(status.downstreams(0).lag_versions(), 0u);
  EXPECT_TRUE(Ready(edge, absl::Seconds(10)));

  auto metrics = HttpGet(central->http_address(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_LT(metrics->body().size(), 256u << 10);
  int lag_series = 0;
  for (absl::string_view line : absl::StrSplit(metrics->body(), '\n')) {
    if (absl::StartsWith(line, "kv_downstream_lag_versions{")) ++lag_series;
  }
  EXPECT_EQ(lag_series, 1) << metrics->body();
  EXPECT_TRUE(
      absl::StrContains(metrics->body(), "kv_downstream_lag_versions{downstream=\"edge-1\"} 0"));
}

}  // namespace
}  // namespace kv::testing

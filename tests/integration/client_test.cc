// The client library (kv/client.h) against real kvd processes on loopback: the calls, conditional
// writes, error codes and messages as the server sent them, read failover, sessions across edges
// with different upstreams, and strong reads answered by the central node.

#include "kv/client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kvd_process.h"
#include "tests/support/raw_kv.h"
#include "tests/support/temp_dir.h"

namespace kv::testing {
namespace {

using client::Client;
using client::ClientOptions;
using client::Source;

class ClusterTest : public ClusterFixture {
 protected:
  // An edge that is ready: until it has synced an edge forwards every read, and these tests
  // want it serving locally.
  KvdProcess* StartEdge(const std::string& name, const std::string& upstream,
                        const std::string& mode = "full", std::vector<std::string> extra = {}) {
    KvdProcess* edge = ClusterFixture::StartEdge(name, upstream, mode, std::move(extra));
    EXPECT_TRUE(WaitReady(edge)) << name << " never became ready";
    return edge;
  }
  std::unique_ptr<Client> NewClient(const std::string& write, std::vector<std::string> reads,
                                    bool session = true) {
    ClientOptions options;
    options.write_endpoint = write;
    options.read_endpoints = std::move(reads);
    options.session = session;
    auto c = Client::Create(options);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
  uint64_t Head() { return central_->Status()->head_version(); }
};

using ClientTest = ClusterTest;

TEST_F(ClientTest, CallsAgainstTheCentralNode) {
  StartCentral();
  auto c = NewClient(central_->address(), {});
  client::PutOptions put;
  put.metadata = "m1";
  auto w1 = c->Put("user/1", "alice", put);
  ASSERT_TRUE(w1.ok()) << w1.status();
  EXPECT_EQ(w1->version, 1u);
  EXPECT_EQ(c->session_version(), 1u);
  put = {};
  put.ttl = absl::Hours(1);
  const std::string binary("b\0b\xff", 4);
  auto w2 = c->Put("user/2", binary, put);
  ASSERT_TRUE(w2.ok()) << w2.status();
  EXPECT_NEAR(w2->expiration, absl::ToUnixSeconds(absl::Now()) + 3600, 5);

  auto got = c->Get("user/1");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->found);
  EXPECT_EQ(got->entry.key, "user/1");
  EXPECT_EQ(got->entry.value, "alice");
  EXPECT_EQ(got->entry.metadata, "m1");
  EXPECT_EQ(got->entry.version, 1u);
  EXPECT_EQ(got->info.source, Source::kCentral);
  EXPECT_EQ(got->info.staleness, absl::ZeroDuration());
  EXPECT_EQ(got->info.node_id, "central");
  EXPECT_EQ(got->info.endpoint, central_->address());
  EXPECT_GE(got->info.as_of_version, 2u);

  auto batch = c->BatchGet({"user/2", "missing", "user/1"});
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->items.size(), 3u);
  EXPECT_TRUE(batch->items[0].found);
  EXPECT_EQ(batch->items[0].entry.value, binary);
  EXPECT_EQ(batch->items[0].entry.expiration, w2->expiration);
  EXPECT_FALSE(batch->items[1].found);
  EXPECT_EQ(batch->items[2].entry.value, "alice");
  EXPECT_EQ(batch->info.source, Source::kCentral);
  EXPECT_TRUE(absl::IsInvalidArgument(c->BatchGet(std::vector<std::string>(101, "k")).status()));

  // List pages in key order; values only on request.
  auto writer = c->NewBulkWriter({.window = 32});
  std::atomic<int> failed{0};
  for (int i = 0; i < 250; ++i) {
    writer->Add(absl::StrFormat("list/%04d", i), absl::StrCat("v", i), {},
                [&](absl::StatusOr<client::PutResult> r) {
                  if (!r.ok()) failed.fetch_add(1);
                });
  }
  writer->Flush();
  ASSERT_EQ(failed.load(), 0);
  client::ListOptions list;
  list.prefix = "list/";
  list.limit = 100;
  std::vector<std::string> keys;
  for (int page = 0; page < 10; ++page) {
    auto r = c->List(list);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const auto& e : r->entries) {
      keys.push_back(e.key);
      EXPECT_EQ(e.value, "");
      EXPECT_GT(e.version, 2u);
    }
    list.cursor = r->next_cursor;
    if (list.cursor.empty()) break;
  }
  ASSERT_EQ(keys.size(), 250u);
  for (int i = 0; i < 250; ++i) EXPECT_EQ(keys[i], absl::StrFormat("list/%04d", i));
  client::ListOptions first_hundred;
  first_hundred.prefix = "list/00";
  first_hundred.limit = 1000;
  first_hundred.include_values = true;
  auto with_values = c->List(first_hundred);
  ASSERT_TRUE(with_values.ok());
  ASSERT_EQ(with_values->entries.size(), 100u);
  EXPECT_EQ(with_values->entries[42].value, "v42");
  EXPECT_TRUE(with_values->next_cursor.empty());

  auto del = c->Delete("user/1");
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_TRUE(del->deleted);
  EXPECT_EQ(del->version, Head());
  got = c->Get("user/1");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->found);
  EXPECT_EQ(got->info.as_of_version, del->version);
  auto again = c->Delete("user/1");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->deleted);
  EXPECT_EQ(again->version, del->version);
}

TEST_F(ClientTest, ConditionalWritesAreCompareAndSet) {
  StartCentral();
  auto c = NewClient(central_->address(), {});
  client::PutOptions create;
  create.if_version = 0;
  auto v1 = c->Put("cas", "one", create);
  ASSERT_TRUE(v1.ok()) << v1.status();
  auto lost = c->Put("cas", "two", create);
  ASSERT_TRUE(absl::IsFailedPrecondition(lost.status())) << lost.status();
  EXPECT_TRUE(absl::StrContains(lost.status().message(), absl::StrCat(v1->version)))
      << lost.status();
  client::PutOptions swap;
  swap.if_version = v1->version;
  auto v2 = c->Put("cas", "two", swap);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_TRUE(absl::IsFailedPrecondition(c->Put("cas", "three", swap).status()));
  client::DeleteOptions del;
  del.if_version = v1->version;
  EXPECT_TRUE(absl::IsFailedPrecondition(c->Delete("cas", del).status()));
  client::PutOptions absent;
  absent.if_version = 5;
  EXPECT_TRUE(absl::IsFailedPrecondition(c->Put("never-written", "x", absent).status()));
  EXPECT_EQ(Head(), v2->version);  // lost conditions wrote nothing
  EXPECT_EQ(c->Get("cas")->entry.value, "two");

  // Writers sharing one client race on one key: exactly one wins each round.
  uint64_t version = v2->version;
  for (int round = 0; round < 15; ++round) {
    std::atomic<int> winners{0};
    std::atomic<uint64_t> next{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < 6; ++w) {
      threads.emplace_back([&, w] {
        client::PutOptions o;
        o.if_version = version;
        auto r = c->Put("cas", absl::StrCat(round, "/", w), o);
        if (r.ok()) {
          winners.fetch_add(1);
          next = r->version;
        } else {
          EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    version = next.load();
  }
}

// The client returns the gRPC code and the node's message unchanged: compare with what a raw
// stub gets for the same request, at the central node and through an edge that forwards writes.
TEST_F(ClientTest, ErrorsCarryTheServersCodeAndMessage) {
  StartCentral({"--max-value-bytes", "64KiB"});
  KvdProcess* edge = StartEdge("edge-a", central_->address());
  auto at_central = NewClient(central_->address(), {});
  ASSERT_TRUE(at_central->Put("taken", "v").ok());
  const uint64_t head = Head();
  struct Case {
    std::string key;
    std::string value;
    std::string metadata;
    std::optional<uint64_t> if_version;
    absl::StatusCode code;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {std::string(513, 'k'),
       "v",
       "",
       {},
       absl::StatusCode::kInvalidArgument,
       "limit of 512 bytes"},
      {"", "v", "", {}, absl::StatusCode::kInvalidArgument, "key is empty"},
      {"big",
       std::string((64 << 10) + 1, 'v'),
       "",
       {},
       absl::StatusCode::kResourceExhausted,
       "limit of 65536 bytes"},
      {"meta",
       "v",
       std::string(1025, 'm'),
       {},
       absl::StatusCode::kInvalidArgument,
       "metadata is 1025 bytes"},
      {"taken", "v", "", 0, absl::StatusCode::kFailedPrecondition, absl::StrCat(head)},
  };
  for (KvdProcess* node : {central_.get(), edge}) {
    auto c = NewClient(node->address(), {node->address()});
    for (const Case& k : cases) {
      client::PutOptions o;
      o.metadata = k.metadata;
      o.if_version = k.if_version;
      auto r = c->Put(k.key, k.value, o);
      const std::string what = absl::StrCat(node->name(), " key=", k.key.substr(0, 10));
      ASSERT_FALSE(r.ok()) << what;
      EXPECT_EQ(r.status().code(), k.code) << what << ": " << r.status();
      EXPECT_TRUE(absl::StrContains(r.status().message(), k.mentions))
          << what << ": " << r.status();
      EXPECT_FALSE(client::IsOutcomeUnknown(r.status())) << what << ": rejected, not applied";

      grpc::ClientContext ctx;
      kvstore::v1::PutRequest req;
      req.set_key(k.key);
      req.set_value(k.value);
      req.set_metadata(k.metadata);
      if (k.if_version) req.set_if_version(*k.if_version);
      kvstore::v1::PutResponse resp;
      grpc::Status raw = node->KvStub()->Put(&ctx, req, &resp);
      EXPECT_EQ(static_cast<int>(raw.error_code()), static_cast<int>(k.code)) << what;
      EXPECT_EQ(r.status().message(), raw.error_message()) << what;
    }
    auto read = c->Get(std::string(513, 'k'));
    EXPECT_TRUE(absl::IsInvalidArgument(read.status())) << read.status();
    EXPECT_TRUE(absl::StrContains(read.status().message(), "limit of 512 bytes")) << read.status();
  }
  EXPECT_EQ(Head(), head);  // nothing was written
  // Nobody listening: UNAVAILABLE, within the call's deadline.
  ClientOptions options;
  options.write_endpoint = DeadAddress();
  options.timeout = absl::Seconds(1);
  auto dead = Client::Create(options);
  ASSERT_TRUE(dead.ok());
  const absl::Time start = absl::Now();
  EXPECT_TRUE(absl::IsUnavailable((*dead)->Get("k").status()));
  EXPECT_TRUE(absl::IsUnavailable((*dead)->Put("k", "v").status()));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  // Never connected, so never sent: a plain failure, not an unknown outcome.
  EXPECT_FALSE(client::IsOutcomeUnknown((*dead)->Put("k", "v").status()));
}

// A frozen central node (SIGSTOP): the kernel still takes the bytes, nobody answers. A write
// sent on an open connection, directly or through an edge, has an unknown outcome (the node may
// apply it when it thaws). A client that had no connection yet never sends it: a plain failure,
// and the key is provably absent after the thaw.
TEST_F(ClientTest, WritesToAFrozenCentralNodeSayWhetherTheyMayHaveBeenApplied) {
  StartCentral();
  KvdProcess* edge = StartEdge("edge-a", central_->address());
  auto direct = NewClient(central_->address(), {});
  auto via_edge = NewClient(edge->address(), {edge->address()});
  ASSERT_TRUE(direct->Put("warm", "1").ok());  // both have live connections now
  ASSERT_TRUE(via_edge->Put("warm", "2").ok());
  // No connection yet. gRPC shares connections between channels with equal arguments, so this
  // client differs in one (its message limit) to get a connection of its own.
  ClientOptions fresh_options;
  fresh_options.write_endpoint = central_->address();
  fresh_options.max_message_bytes = (32 << 20) + 1;
  auto fresh_or = Client::Create(fresh_options);
  ASSERT_TRUE(fresh_or.ok()) << fresh_or.status();
  std::unique_ptr<Client> fresh = std::move(*fresh_or);

  central_->Pause();
  client::PutOptions quick;
  quick.timeout = absl::Milliseconds(800);
  absl::Status sent_direct = direct->Put("frozen/direct", "v", quick).status();
  absl::Status sent_via_edge = via_edge->Put("frozen/edge", "v", quick).status();
  absl::Status never_sent = fresh->Put("frozen/fresh", "v", quick).status();
  central_->Resume();

  EXPECT_TRUE(client::IsOutcomeUnknown(sent_direct)) << sent_direct;
  EXPECT_TRUE(absl::IsDeadlineExceeded(sent_direct)) << sent_direct;
  EXPECT_TRUE(client::IsOutcomeUnknown(sent_via_edge)) << sent_via_edge;
  EXPECT_FALSE(never_sent.ok());
  EXPECT_FALSE(client::IsOutcomeUnknown(never_sent)) << never_sent;
  EXPECT_TRUE(absl::StrContains(never_sent.message(), "nothing was sent")) << never_sent;

  client::ReadOptions strong;
  strong.consistency = client::Consistency::kStrong;
  auto got = direct->Get("frozen/fresh", strong);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->found) << "reported not sent, but written";
  // The thawed node answers again, and the client's next write has a known outcome.
  EXPECT_TRUE(direct->Put("after", "v").ok());
}

TEST_F(ClientTest, WritesThroughAnEdgeAreForwardedAndReadBack) {
  StartCentral();
  // A long min_version wait: the read below must be answered by the edge's own stream.
  KvdProcess* edge = StartEdge("edge-a", central_->address(), "full", {"--min-version-wait", "5s"});
  auto c = NewClient(edge->address(), {edge->address()});
  auto w = c->Put("fwd", "via-edge");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(Head(), w->version);
  auto got = c->Get("fwd");  // the session makes the edge wait for its stream
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->found);
  EXPECT_EQ(got->entry.version, w->version);
  EXPECT_EQ(got->info.node_id, "edge-a");
  EXPECT_EQ(got->info.source, Source::kEdgeStore);
  auto list = c->List({});
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->entries.size(), 1u);
  EXPECT_EQ(list->entries[0].key, "fwd");
  auto del = c->Delete("fwd");
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_TRUE(del->deleted);
  auto batch = c->BatchGet({"fwd"});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_FALSE(batch->items[0].found);
  EXPECT_GE(batch->info.as_of_version, del->version);
}

TEST_F(ClientTest, ReadsFailOverFromADeadEndpointToALiveEdge) {
  StartCentral();
  KvdProcess* e1 = StartEdge("edge-1", central_->address());
  KvdProcess* e2 = StartEdge("edge-2", central_->address());
  auto c = NewClient(central_->address(), {e1->address(), e2->address()});
  auto w = c->Put("k", "v");
  ASSERT_TRUE(w.ok()) << w.status();
  auto got = c->Get("k");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->info.endpoint, e1->address());

  e1->Kill();
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    got = c->Get("k");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->info.endpoint, e2->address());
    EXPECT_EQ(got->info.node_id, "edge-2");
    EXPECT_EQ(got->entry.version, w->version);
    // Failover within a round does not sleep.
    EXPECT_LT(absl::Now() - start, absl::Seconds(1)) << "read " << i;
  }

  // A first endpoint that never lived, with sessions off.
  auto fresh = NewClient(central_->address(), {DeadAddress(), e2->address()}, false);
  auto list = fresh->List({});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->info.endpoint, e2->address());
  auto batch = fresh->BatchGet({"k"});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_TRUE(batch->items[0].found);
}

// Regression: GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is gRPC's minimum connect timeout; set to 100 ms
// it failed calls to a node slower than that to answer a new connection, with time left.
TEST_F(ClientTest, ASlowFirstHandshakeDoesNotFailACallWithTimeLeft) {
  StartCentral();
  ASSERT_TRUE(RawKv(central_->address()).Put("k", "v").ok());
  auto raw = central_->KvStub();                     // gRPC's default channel arguments
  auto reader = NewClient(central_->address(), {});  // fresh channels, not connected yet
  auto writer = NewClient(central_->address(), {});
  // Freeze the node for 600 ms: the kernel still accepts connections, but no SETTINGS come.
  central_->Pause();
  std::thread thaw([&] {
    absl::SleepFor(absl::Milliseconds(600));
    central_->Resume();
  });
  grpc::Status raw_status;
  absl::Status read_status, write_status;
  std::thread raw_call([&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    kvstore::v1::GetRequest req;
    req.set_key("k");
    kvstore::v1::GetResponse resp;
    raw_status = raw->Get(&ctx, req, &resp);
  });
  std::thread write_call([&] { write_status = writer->Put("k2", "v").status(); });
  read_status = reader->Get("k").status();  // the client's deadline is 5 s
  raw_call.join();
  write_call.join();
  thaw.join();
  ASSERT_TRUE(raw_status.ok()) << "control: " << raw_status.error_message();
  EXPECT_TRUE(read_status.ok()) << read_status;
  EXPECT_TRUE(write_status.ok()) << write_status;
}

// Sessions across edges with different upstreams: A follows the central node, B follows a relay.
// Parameterized by the edges' modes so cache edges can join once cache mode exists.
struct Topology {
  std::string name;
  std::string mode_a;
  std::string mode_b;
};

// Names the topology in ctest's list instead of dumping its bytes.
void PrintTo(const Topology& t, std::ostream* os) { *os << t.name; }

class SessionTest : public ClusterTest, public ::testing::WithParamInterface<Topology> {
 protected:
  void SetUp() override {
    StartCentral();
    relay_ = StartEdge("relay", central_->address(), "full");
    a_ = StartEdge("edge-a", central_->address(), GetParam().mode_a);
    b_ = StartEdge("edge-b", relay_->address(), GetParam().mode_b);
  }
  KvdProcess* relay_ = nullptr;
  KvdProcess* a_ = nullptr;
  KvdProcess* b_ = nullptr;
};

TEST_P(SessionTest, ReadYourWritesAcrossTwoEdges) {
  // Other writers keep the streams busy, so the edges lag behind now and then.
  std::atomic<bool> stop{false};
  std::thread noise([&] {
    RawKv kv(central_->address());
    for (int i = 0; !stop.load() && i < 100000; ++i) kv.Put(absl::StrCat("noise/", i % 200), "n");
  });
  auto via_a = NewClient(central_->address(), {a_->address()});
  auto via_b = NewClient(central_->address(), {b_->address()});
  std::map<std::string, int> sources;
  for (int i = 0; i < 150; ++i) {
    auto w = via_a->Put("rw", absl::StrCat(i));
    ASSERT_TRUE(w.ok()) << w.status();
    auto a = via_a->Get("rw");
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(a->found) << "round " << i;
    ASSERT_EQ(a->entry.version, w->version) << "edge A answered an older version, round " << i;
    EXPECT_EQ(a->entry.value, absl::StrCat(i));
    // The session token moves to the second client, as it would between processes.
    via_b->SetSessionVersion(via_a->session_version());
    auto b = via_b->Get("rw");
    ASSERT_TRUE(b.ok()) << b.status();
    ASSERT_TRUE(b->found) << "round " << i;
    ASSERT_EQ(b->entry.version, w->version) << "edge B answered an older version, round " << i;
    EXPECT_EQ(b->entry.value, absl::StrCat(i));
    ++sources[absl::StrCat("A:", client::SourceName(a->info.source))];
    ++sources[absl::StrCat("B:", client::SourceName(b->info.source))];
  }
  stop = true;
  noise.join();
  for (const auto& [s, n] : sources) std::cerr << s << " " << n << "\n";
}

TEST_P(SessionTest, SessionOffMaySeeOlderDataButNeverErrors) {
  auto writer = NewClient(central_->address(), {});
  auto reader = NewClient(central_->address(), {b_->address()}, /*session=*/false);
  int older = 0;
  for (int i = 0; i < 100; ++i) {
    auto w = writer->Put("loose", absl::StrCat(i));
    ASSERT_TRUE(w.ok()) << w.status();
    auto r = reader->Get("loose");
    ASSERT_TRUE(r.ok()) << "round " << i << ": " << r.status();
    if (!r->found || r->entry.version < w->version) ++older;
    if (r->found) {
      EXPECT_LE(r->entry.version, w->version);
    }
  }
  std::cerr << older << " of 100 session-less reads at B were older than the write\n";

  // Freeze the relay: B stays within its bound but cannot learn the new version.
  auto v1 = writer->Put("frozen", "old");
  ASSERT_TRUE(v1.ok());
  ASSERT_TRUE(WaitApplied(b_, v1->version));
  ASSERT_TRUE(reader->Get("frozen").ok());  // warms a cache edge
  relay_->Pause();
  auto v2 = writer->Put("frozen", "new");
  ASSERT_TRUE(v2.ok());
  auto r = reader->Get("frozen");
  client::ReadOptions no_session;
  no_session.use_session = false;
  auto r2 = NewClient(central_->address(), {b_->address()})->Get("frozen", no_session);
  relay_->Resume();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entry.version, v1->version);
  EXPECT_EQ(r->entry.value, "old");
  EXPECT_FALSE(r->info.stale);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->entry.version, v1->version);

  // With the session token, B answers the new version.
  auto with_session = NewClient(central_->address(), {b_->address()});
  with_session->SetSessionVersion(writer->session_version());
  auto r3 = with_session->Get("frozen");
  ASSERT_TRUE(r3.ok()) << r3.status();
  EXPECT_EQ(r3->entry.version, v2->version);
  EXPECT_EQ(r3->entry.value, "new");
}

TEST_P(SessionTest, StrongReadThroughAnEdgeIsAnsweredByTheCentralNode) {
  auto writer = NewClient(central_->address(), {});
  for (KvdProcess* edge : {a_, b_}) {
    auto c = NewClient(central_->address(), {edge->address()}, /*session=*/false);
    client::ReadOptions strong;
    strong.consistency = client::Consistency::kStrong;
    for (int i = 0; i < 20; ++i) {
      auto w = writer->Put("strong", absl::StrCat(edge->name(), i));
      ASSERT_TRUE(w.ok());
      auto r = c->Get("strong", strong);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->info.source, Source::kCentral) << edge->name();
      EXPECT_EQ(r->info.node_id, "central") << edge->name();
      EXPECT_EQ(r->info.staleness, absl::ZeroDuration());
      EXPECT_EQ(r->info.endpoint, edge->address());
      ASSERT_EQ(r->entry.version, w->version) << edge->name() << " round " << i;
    }
    auto batch = c->BatchGet({"strong", "absent"}, strong);
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_EQ(batch->info.source, Source::kCentral);
    EXPECT_EQ(batch->items[0].source, Source::kCentral);
    EXPECT_EQ(batch->info.as_of_version, Head());
  }
}

// Cache edges join here once cache mode exists, e.g. {"CacheEdges", "cache", "cache"} and
// {"MixedEdges", "full", "cache"}.
INSTANTIATE_TEST_SUITE_P(Topologies, SessionTest,
                         ::testing::Values(Topology{"FullEdges", "full", "full"},
                                           Topology{"CacheEdges", "cache", "cache"},
                                           Topology{"FullAndCache", "full", "cache"}),
                         [](const ::testing::TestParamInfo<Topology>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace kv::testing

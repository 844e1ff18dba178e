// The client library against real gRPC servers on 127.0.0.1 running a fake KV/Admin service.

#include "kv/client.h"

#include <gtest/gtest.h>

#include <limits>

#include "absl/time/clock.h"
#include "client/admin_status.h"
#include "client/testing/fake_kv_server.h"

namespace kv::client {
namespace {

using testing::FakeKvServer;
using testing::Method;
using testing::RefusingPort;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(central_.Start().ok());
    ASSERT_TRUE(edge1_.Start().ok());
    ASSERT_TRUE(edge2_.Start().ok());
  }

  ClientOptions Options(std::vector<std::string> reads = {}) {
    ClientOptions o;
    o.write_endpoint = central_.address();
    o.read_endpoints = std::move(reads);
    o.timeout = absl::Seconds(5);
    o.retry.initial_backoff = absl::Milliseconds(10);
    o.retry.jitter = 0;
    return o;
  }

  std::unique_ptr<Client> Make(const ClientOptions& o) {
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Create(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  FakeKvServer central_{"central"};
  FakeKvServer edge1_{"edge1"};
  FakeKvServer edge2_{"edge2"};
};

TEST_F(ClientTest, PutThenGetRoundTripsBinaryBytes) {
  auto c = Make(Options());
  const std::string key("k\0ey", 4);
  const std::string value("v\0\xff\x01 value", 10);
  PutOptions put;
  put.metadata = std::string("m\0", 2);
  put.ttl = absl::Seconds(30);
  absl::StatusOr<PutResult> w = c->Put(key, value, put);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->version, 1u);
  EXPECT_GT(w->expiration, absl::ToUnixSeconds(absl::Now()));

  absl::StatusOr<GetResult> r = c->Get(key);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->found);
  EXPECT_EQ(r->entry.key, key);
  EXPECT_EQ(r->entry.value, value);
  EXPECT_EQ(r->entry.metadata, put.metadata);
  EXPECT_EQ(r->entry.version, 1u);
  EXPECT_EQ(r->entry.expiration, w->expiration);
  EXPECT_EQ(r->info.source, Source::kCentral);
  EXPECT_EQ(r->info.node_id, "central");
  EXPECT_EQ(r->info.endpoint, central_.address());
}

TEST_F(ClientTest, NotFoundIsAnAnswerNotAnError) {
  auto c = Make(Options());
  absl::StatusOr<GetResult> r = c->Get("missing");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->found);
}

TEST_F(ClientTest, FailsOverWhenFirstReadEndpointRefusesConnections) {
  RefusingPort dead;
  edge2_.Insert("k", "from-edge2");
  auto c = Make(Options({dead.address(), edge2_.address()}));
  const absl::Time start = absl::Now();
  absl::StatusOr<GetResult> r = c->Get("k");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entry.value, "from-edge2");
  EXPECT_EQ(r->info.endpoint, edge2_.address());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  // The dead endpoint is cooling down: the next read goes straight to edge2.
  r = c->Get("k");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->info.endpoint, edge2_.address());
  EXPECT_EQ(edge2_.calls(Method::kGet), 2);
}

TEST_F(ClientTest, FailsOverOnUnavailableAndReturnsAfterTheCooldown) {
  ClientOptions o = Options({edge1_.address(), edge2_.address()});
  o.endpoint_cooldown = absl::Milliseconds(300);
  auto c = Make(o);
  edge1_.FailNext(Method::kGet, -1, grpc::StatusCode::UNAVAILABLE, "edge1 lost its upstream");

  absl::StatusOr<GetResult> r = c->Get("k");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->info.endpoint, edge2_.address());
  EXPECT_EQ(edge1_.calls(Method::kGet), 1);

  r = c->Get("k");  // within the cool-down: edge1 is skipped
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->info.endpoint, edge2_.address());
  EXPECT_EQ(edge1_.calls(Method::kGet), 1);

  edge1_.FailNext(Method::kGet, 0, grpc::StatusCode::OK);  // edge1 recovers
  absl::SleepFor(absl::Milliseconds(400));
  r = c->Get("k");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->info.endpoint, edge1_.address());
  EXPECT_EQ(edge1_.calls(Method::kGet), 2);
}

TEST_F(ClientTest, WritesAreNotRetried) {
  auto c = Make(Options());
  central_.FailNext(Method::kPut, 1, grpc::StatusCode::UNAVAILABLE, "try later");
  absl::StatusOr<PutResult> w = c->Put("k", "v");
  EXPECT_EQ(w.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(w.status().message(), "try later");
  // The server answered UNAVAILABLE: it may have been an edge whose forwarded write broke.
  EXPECT_TRUE(IsOutcomeUnknown(w.status())) << w.status();
  EXPECT_EQ(central_.calls(Method::kPut), 1);

  central_.FailNext(Method::kDelete, 1, grpc::StatusCode::UNAVAILABLE, "try later");
  EXPECT_EQ(c->Delete("k").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(central_.calls(Method::kDelete), 1);

  // Not an error of the client's state: the next write goes through.
  ASSERT_TRUE(c->Put("k", "v").ok());
  EXPECT_EQ(central_.calls(Method::kPut), 2);
}

TEST_F(ClientTest, WriteToAnUnreachableEndpointFailsOnce) {
  RefusingPort dead;
  ClientOptions o = Options();
  o.write_endpoint = dead.address();
  auto c = Make(o);
  const absl::Time start = absl::Now();
  absl::Status s = c->Put("k", "v").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  // Never connected, so never sent: known not applied.
  EXPECT_FALSE(IsOutcomeUnknown(s)) << s;
  EXPECT_FALSE(IsOutcomeUnknown(c->Delete("k").status()));
}

TEST_F(ClientTest, ReadsAreRetriedWithBackoff) {
  ClientOptions o = Options();
  o.retry.initial_backoff = absl::Milliseconds(50);
  auto c = Make(o);
  central_.FailNext(Method::kGet, 2, grpc::StatusCode::UNAVAILABLE);
  const absl::Time start = absl::Now();
  absl::StatusOr<GetResult> r = c->Get("k");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(central_.calls(Method::kGet), 3);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));  // 50 ms + 100 ms of backoff
}

TEST_F(ClientTest, ReadRetriesStopAtTheDeadline) {
  ClientOptions o = Options();
  o.retry.max_attempts = 1000;
  o.retry.max_backoff = absl::Milliseconds(50);
  auto c = Make(o);
  central_.FailNext(Method::kList, -1, grpc::StatusCode::UNAVAILABLE, "down");
  ReadOptions ro;
  ro.timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  absl::StatusOr<ListResult> r = c->List({}, ro);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "down");
  EXPECT_GE(central_.calls(Method::kList), 3);
  EXPECT_LT(central_.calls(Method::kList), 40);
  EXPECT_GE(took, absl::Milliseconds(200));
  EXPECT_LT(took, absl::Seconds(1));
}

TEST_F(ClientTest, MaxAttemptsBoundsRetries) {
  ClientOptions o = Options();
  o.retry.max_attempts = 3;
  auto c = Make(o);
  central_.FailNext(Method::kStatus, -1, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(c->Status().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(central_.calls(Method::kStatus), 3);
}

TEST_F(ClientTest, RequestErrorsAreNotRetried) {
  auto c = Make(Options({edge1_.address(), edge2_.address()}));
  edge1_.FailNext(Method::kGet, 1, grpc::StatusCode::INVALID_ARGUMENT, "key: too long (512)");
  absl::StatusOr<GetResult> r = c->Get("k");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "key: too long (512)");
  EXPECT_EQ(edge1_.calls(Method::kGet), 1);
  EXPECT_EQ(edge2_.calls(Method::kGet), 0);
}

TEST_F(ClientTest, AnAttemptThatTimesOutIsRetried) {
  ClientOptions o = Options();
  o.retry.per_attempt_timeout = absl::Milliseconds(200);
  auto c = Make(o);
  central_.DelayNext(Method::kGet, 1, absl::Seconds(3));
  const absl::Time start = absl::Now();
  absl::StatusOr<GetResult> r = c->Get("k");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(central_.calls(Method::kGet), 2);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(ClientTest, SessionCarriesTheWrittenVersionIntoReads) {
  auto c = Make(Options({edge1_.address()}));
  central_.Insert("other", "x");  // central's versions run ahead of the edge
  absl::StatusOr<PutResult> w = c->Put("k", "v");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->version, 2u);
  EXPECT_EQ(c->session_version(), 2u);
  ASSERT_TRUE(c->Get("k").ok());
  ASSERT_TRUE(c->BatchGet({"k", "x"}).ok());
  ASSERT_TRUE(c->List({}).ok());
  EXPECT_EQ(edge1_.min_versions(), (std::vector<uint64_t>{2, 2, 2}));
}

TEST_F(ClientTest, SessionCanBeTurnedOffPerCallAndPerClient) {
  auto c = Make(Options({edge1_.address()}));
  ASSERT_TRUE(c->Put("k", "v").ok());
  ReadOptions no_session;
  no_session.use_session = false;
  ASSERT_TRUE(c->Get("k", no_session).ok());
  EXPECT_EQ(edge1_.min_versions().back(), 0u);

  ClientOptions o = Options({edge1_.address()});
  o.session = false;
  auto sessionless = Make(o);
  ASSERT_TRUE(sessionless->Put("k", "v2").ok());
  EXPECT_EQ(sessionless->session_version(), 0u);
  ASSERT_TRUE(sessionless->Get("k").ok());
  EXPECT_EQ(edge1_.min_versions().back(), 0u);
}

TEST_F(ClientTest, SessionIsMonotonicOverReads) {
  auto c = Make(Options({edge1_.address(), edge2_.address()}));
  for (int i = 0; i < 7; ++i) edge1_.Insert("k", "v");  // k at version 7 on edge1
  ASSERT_TRUE(c->Get("k").ok());
  EXPECT_EQ(c->session_version(), 7u);
  // Not found: the answer's as_of_version counts.
  edge1_.SetAsOfVersion(12);
  absl::StatusOr<GetResult> r = c->Get("missing");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->found);
  EXPECT_EQ(c->session_version(), 12u);
  // A lower version never lowers the session.
  edge1_.SetAsOfVersion(3);
  ASSERT_TRUE(c->Get("missing").ok());
  EXPECT_EQ(c->session_version(), 12u);
  // Fail over to edge2: it is asked for at least what edge1 showed.
  edge1_.FailNext(Method::kGet, -1, grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(c->Get("k").ok());
  EXPECT_EQ(edge2_.min_versions(), (std::vector<uint64_t>{12}));
}

TEST_F(ClientTest, SessionCarriesOverBetweenClients) {
  auto writer = Make(Options());
  ASSERT_TRUE(writer->Put("a", "1").ok());
  ASSERT_TRUE(writer->Put("b", "2").ok());
  const uint64_t token = writer->session_version();
  auto reader = Make(Options({edge1_.address()}));
  reader->SetSessionVersion(token);
  ASSERT_TRUE(reader->Get("a").ok());
  EXPECT_EQ(edge1_.min_versions().back(), 2u);
  reader->SetSessionVersion(0);  // reset
  ASSERT_TRUE(reader->Get("a").ok());
  EXPECT_EQ(edge1_.min_versions().back(), 0u);
}

TEST_F(ClientTest, ReadOptionsReachTheServer) {
  auto c = Make(Options({edge1_.address()}));
  c->SetSessionVersion(5);
  ReadOptions ro;
  ro.consistency = Consistency::kStrong;
  ro.max_staleness = absl::Milliseconds(500);
  ro.allow_stale = true;
  ro.min_version = 9;  // above the session: the larger wins
  ASSERT_TRUE(c->Get("k", ro).ok());
  kvstore::v1::ReadOptions got = edge1_.last_read_options();
  EXPECT_EQ(got.consistency(), kvstore::v1::CONSISTENCY_STRONG);
  EXPECT_EQ(got.max_staleness_micros(), 500000);
  EXPECT_TRUE(got.allow_stale());
  EXPECT_EQ(got.min_version(), 9u);
}

TEST_F(ClientTest, BatchGetAndListPages) {
  auto c = Make(Options());
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(c->Put("p/" + std::to_string(100 + i), "v").ok());
  ASSERT_TRUE(c->Put("q/1", "v").ok());
  absl::StatusOr<BatchGetResult> b = c->BatchGet({"p/100", "nope", "p/124"});
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->items.size(), 3u);
  EXPECT_TRUE(b->items[0].found);
  EXPECT_FALSE(b->items[1].found);
  EXPECT_EQ(b->items[2].entry.key, "p/124");
  EXPECT_EQ(c->BatchGet(std::vector<std::string>(101, "k")).status().code(),
            absl::StatusCode::kInvalidArgument);

  ListOptions list;
  list.prefix = "p/";
  list.limit = 10;
  std::vector<std::string> keys;
  for (int page = 0; page < 10; ++page) {
    absl::StatusOr<ListResult> r = c->List(list);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const Entry& e : r->entries) {
      keys.push_back(e.key);
      EXPECT_TRUE(e.value.empty());
    }
    if (r->next_cursor.empty()) break;
    list.cursor = r->next_cursor;
  }
  ASSERT_EQ(keys.size(), 25u);
  EXPECT_EQ(keys.front(), "p/100");
  EXPECT_EQ(keys.back(), "p/124");
}

TEST_F(ClientTest, ConditionalWritesReportTheServersAnswer) {
  auto c = Make(Options());
  PutOptions create;
  create.if_version = 0;
  ASSERT_TRUE(c->Put("k", "v1", create).ok());
  absl::StatusOr<PutResult> again = c->Put("k", "v2", create);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(), "if_version: key is at version 1, not 0");
  PutOptions update;
  update.if_version = 1;
  ASSERT_TRUE(c->Put("k", "v2", update).ok());
  DeleteOptions del;
  del.if_version = 1;
  EXPECT_EQ(c->Delete("k", del).status().code(), absl::StatusCode::kFailedPrecondition);
  del.if_version = 2;
  absl::StatusOr<DeleteResult> d = c->Delete("k", del);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->deleted);
  EXPECT_EQ(d->version, 3u);
}

TEST_F(ClientTest, StatusOfAnyEndpoint) {
  kvstore::v1::StatusResponse s;
  s.set_role("edge");
  s.set_mode("cache");
  edge2_.SetStatus(s);
  auto c = Make(Options({edge1_.address()}));
  absl::StatusOr<NodeStatus> central = c->Status();
  ASSERT_TRUE(central.ok()) << central.status();
  EXPECT_EQ(central->node_id, "central");
  absl::StatusOr<NodeStatus> edge = c->Status(edge2_.address());
  ASSERT_TRUE(edge.ok()) << edge.status();
  EXPECT_EQ(edge->mode, "cache");
  EXPECT_EQ(edge->node_id, "edge2");
}

TEST_F(ClientTest, NodeStatusCarriesTheFieldsAProgramNeeds) {
  kvstore::v1::StatusResponse s;
  s.set_role("edge");
  s.set_mode("full");
  s.set_cluster_id("c-1");
  s.set_build_version("0.1.0+test");
  s.set_uptime_seconds(90);
  s.set_ready(true);
  s.set_head_version(42);
  s.set_oldest_log_version(7);
  s.set_key_count(5);
  s.mutable_replication()->set_upstream("central:7000");
  s.mutable_replication()->set_connected(true);
  s.mutable_replication()->set_staleness_micros(1500);
  s.mutable_replication()->set_max_staleness_micros(5000000);
  edge1_.SetStatus(s);
  s.mutable_replication()->set_staleness_micros(std::numeric_limits<int64_t>::max());
  edge2_.SetStatus(s);
  auto c = Make(Options());
  absl::StatusOr<NodeStatus> n = c->Status(edge1_.address(), absl::Seconds(2));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->endpoint, edge1_.address());
  EXPECT_EQ(n->role, "edge");
  EXPECT_EQ(n->mode, "full");
  EXPECT_EQ(n->node_id, "edge1");
  EXPECT_EQ(n->cluster_id, "c-1");
  EXPECT_EQ(n->build_version, "0.1.0+test");
  EXPECT_EQ(n->uptime, absl::Seconds(90));
  EXPECT_TRUE(n->ready);
  EXPECT_EQ(n->head_version, 42u);
  EXPECT_EQ(n->oldest_log_version, 7u);
  EXPECT_EQ(n->key_count, 5u);
  EXPECT_EQ(n->upstream, "central:7000");
  EXPECT_TRUE(n->upstream_connected);
  EXPECT_EQ(n->staleness, absl::Microseconds(1500));
  EXPECT_EQ(n->max_staleness, absl::Seconds(5));
  // An edge that never synced.
  n = c->Status(edge2_.address());
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->staleness, absl::InfiniteDuration());
  // The central node: no replication, zero staleness; the write endpoint when none is named.
  n = c->Status();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->endpoint, central_.address());
  EXPECT_EQ(n->role, "central");
  EXPECT_EQ(n->staleness, absl::ZeroDuration());
  EXPECT_EQ(n->upstream, "");
}

TEST_F(ClientTest, FullAdminStatusStaysAvailableInternally) {
  kvstore::v1::StatusResponse s;
  s.set_role("edge");
  s.add_downstreams()->set_node_id("below");
  edge1_.SetStatus(s);
  auto c = Make(Options());
  absl::StatusOr<kvstore::v1::StatusResponse> full = FetchAdminStatus(*c, edge1_.address());
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(full->downstreams_size(), 1);
  EXPECT_EQ(full->downstreams(0).node_id(), "below");
  EXPECT_EQ(full->node_id(), "edge1");
}

TEST_F(ClientTest, TheBearerTokenGoesWithEveryCallOverPlainText) {
  ClientOptions o = Options({edge1_.address()});
  o.bearer_token = "t0k.en";
  auto c = Make(o);
  ASSERT_TRUE(c->Put("k", "v").ok());
  ASSERT_TRUE(c->Get("k").ok());
  ASSERT_TRUE(c->Delete("k").ok());
  ASSERT_TRUE(c->Status("").ok());
  ASSERT_TRUE(c->Status(edge1_.address()).ok());
  auto bulk = c->NewBulkWriter({});
  bulk->Add("b", "v", {}, [](absl::StatusOr<PutResult>) {});
  bulk->Flush();
  for (FakeKvServer* server : {&central_, &edge1_}) {
    const std::vector<std::string> seen = server->authorizations();
    ASSERT_FALSE(seen.empty());
    for (const std::string& a : seen) EXPECT_EQ(a, "Bearer t0k.en");
  }
  EXPECT_EQ(central_.authorizations().size(), 4u);  // Put, Delete, Status, bulk Put

  auto anonymous = Make(Options());
  ASSERT_TRUE(anonymous->Get("k").ok());
  EXPECT_EQ(central_.authorizations().back(), "");
}

TEST_F(ClientTest, TlsFilesAreCheckedByCreate) {
  ClientOptions o = Options();
  o.tls.ca_file = "/nonexistent/ca.pem";
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Create(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("/nonexistent/ca.pem"), absl::string_view::npos);
  o = Options();
  o.tls.server_name = "central";  // without TLS
  EXPECT_FALSE(Client::Create(o).ok());
}

TEST_F(ClientTest, BadOptionsAreRejected) {
  ClientOptions o = Options();
  o.max_message_bytes = 25 << 20;
  EXPECT_EQ(Client::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options();
  o.write_endpoint = "";
  EXPECT_EQ(Client::Create(o).status().code(), absl::StatusCode::kInvalidArgument);

  auto c = Make(Options());
  PutOptions put;
  put.ttl = absl::Milliseconds(1500);
  EXPECT_EQ(c->Put("k", "v", put).status().code(), absl::StatusCode::kInvalidArgument);
  put.ttl = absl::Seconds(5);
  put.expiration = 2000000000;
  EXPECT_EQ(c->Put("k", "v", put).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(central_.calls(Method::kPut), 0);
}

TEST_F(ClientTest, LargeValuesFitTheMessageLimit) {
  auto c = Make(Options());
  const std::string big(25 << 20, 'x');
  ASSERT_TRUE(c->Put("big", big).ok());
  absl::StatusOr<GetResult> r = c->Get("big");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entry.value.size(), big.size());
}

}  // namespace
}  // namespace kv::client

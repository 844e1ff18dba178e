// A real `kvd edge --mode cache` whose upstream is a fake in this process, scripted so that the
// edge's stream stays at version 2 while a commit at version 3 has moved 60 from acct/a to
// acct/b. The edge caches acct/a at its old value; then a BatchGet of both keys answers acct/a
// from the cache and reads acct/b through, and the read-through brings version 3. Mixing the two
// would show 160 in total, half of the commit. The edge must notice the newer version and answer
// the whole batch upstream (docs/design-notes.md, "Commits at a cache edge").

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "kvstore/v1/kv.grpc.pb.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "tests/support/kvd_process.h"
#include "tests/support/raw_kv.h"
#include "tests/support/temp_dir.h"

namespace kv::testing {
namespace {

using kvstore::v1::DownstreamMessage;
using kvstore::v1::Entry;
using kvstore::v1::UpstreamMessage;

Entry Account(const std::string& key, int value, uint64_t version) {
  Entry e;
  e.set_key(key);
  e.set_value(std::to_string(value));
  e.set_version(version);
  return e;
}

// The upstream's truth: before the commit (version 2) a=60, b=40; after it (version 3) a=0,
// b=100. Its stream never gets past version 2; its reads answer with `committed` state.
class FakeReplication final : public kvstore::v1::Replication::Service {
 public:
  std::atomic<bool> committed{false};

  grpc::Status Subscribe(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<UpstreamMessage, DownstreamMessage>* stream) override {
    DownstreamMessage in;
    if (!stream->Read(&in) || !in.has_hello()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "expected a hello");
    }
    UpstreamMessage start;
    start.mutable_start()->set_cluster_id("fake-cluster");
    start.mutable_start()->set_head_version(2);
    start.mutable_start()->set_oldest_version(1);
    start.mutable_start()->set_node_id("fake-upstream");
    start.mutable_start()->set_history_id("fake-history");
    if (!stream->Write(start)) return grpc::Status::OK;
    while (stream->Read(&in)) {
      if (!in.has_ping()) continue;
      UpstreamMessage pong;  // fresh at version 2: the edge answers locally
      pong.mutable_pong()->set_t0_micros(in.ping().t0_micros());
      pong.mutable_pong()->set_head_version(2);
      if (!stream->Write(pong)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status Fetch(grpc::ServerContext*, const kvstore::v1::FetchRequest* request,
                     kvstore::v1::FetchResponse* response) override {
    const bool after = committed.load();
    const uint64_t as_of = after ? 3 : 2;
    response->set_found(true);
    if (request->key() == "acct/a") {
      *response->mutable_entry() = after ? Account("acct/a", 0, 3) : Account("acct/a", 60, 1);
    } else {
      *response->mutable_entry() = after ? Account("acct/b", 100, 3) : Account("acct/b", 40, 1);
    }
    response->mutable_info()->set_as_of_version(as_of);
    response->mutable_info()->set_node_id("fake-upstream");
    response->mutable_info()->set_source(kvstore::v1::SOURCE_CENTRAL);
    return grpc::Status::OK;
  }
};

class FakeKv final : public kvstore::v1::KV::Service {
 public:
  explicit FakeKv(FakeReplication* replication) : replication_(replication) {}
  std::atomic<int> batch_gets{0};

  grpc::Status BatchGet(grpc::ServerContext*, const kvstore::v1::BatchGetRequest* request,
                        kvstore::v1::BatchGetResponse* response) override {
    batch_gets.fetch_add(1);
    const bool after = replication_->committed.load();
    for (const std::string& key : request->keys()) {
      auto* result = response->add_results();
      result->set_found(true);
      result->set_source(kvstore::v1::SOURCE_CENTRAL);
      const int before_value = key == "acct/a" ? 60 : 40;
      const int after_value = key == "acct/a" ? 0 : 100;
      *result->mutable_entry() =
          after ? Account(key, after_value, 3) : Account(key, before_value, 1);
    }
    response->mutable_info()->set_as_of_version(after ? 3 : 2);
    response->mutable_info()->set_node_id("fake-upstream");
    response->mutable_info()->set_source(kvstore::v1::SOURCE_CENTRAL);
    return grpc::Status::OK;
  }

 private:
  FakeReplication* const replication_;
};

TEST(CacheCommitTest, ABatchMixingCacheAndANewerReadThroughIsAnsweredUpstreamWhole) {
  TempDir dir;
  FakeReplication replication;
  FakeKv kv(&replication);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&replication);
  builder.RegisterService(&kv);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  KvdProcess edge(
      "cache",
      {"edge", "--mode", "cache", "--upstream", absl::StrCat("127.0.0.1:", port), "--data-dir",
       dir.Sub("cache"), "--node-id", "cache", "--max-staleness", "1h", "--ping-interval", "20ms"},
      dir.path());
  ASSERT_TRUE(edge.Start().ok()) << edge.ReadLog();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = edge.Status();
        return s.ok() && s->ready();
      },
      absl::Seconds(20)))
      << edge.ReadLog();

  // acct/a is read (and cached) before the commit, at 60.
  RawKv at_edge(edge.address());
  kvstore::v1::GetResponse got;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(at_edge.Get("acct/a", &got).ok());
    ASSERT_EQ(got.entry().value(), "60");
  }
  ASSERT_EQ(got.info().source(), kvstore::v1::SOURCE_EDGE_CACHE) << "acct/a was not cached";
  ASSERT_EQ(kv.batch_gets.load(), 0);

  // The commit happens upstream; the edge's stream does not bring it.
  replication.committed.store(true);
  kvstore::v1::BatchGetRequest request;
  request.add_keys("acct/a");
  request.add_keys("acct/b");
  kvstore::v1::BatchGetResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Status s = at_edge.stub->BatchGet(&context, request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << edge.ReadLog();
  ASSERT_EQ(response.results_size(), 2);
  const int a = std::stoi(response.results(0).entry().value());
  const int b = std::stoi(response.results(1).entry().value());
  EXPECT_EQ(a + b, 100) << "a=" << a << " b=" << b << ": part of a commit";
  EXPECT_EQ(a, 0);
  EXPECT_EQ(kv.batch_gets.load(), 1) << "the batch was not answered upstream";

  // Both keys cached, acct/b at the commit's version (installed by its read-through) and acct/a
  // from before it: a batch of hits only must be answered upstream whole too.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(at_edge.Get("acct/b", &got).ok());
  ASSERT_EQ(got.entry().value(), "100");
  ASSERT_EQ(got.info().source(), kvstore::v1::SOURCE_EDGE_CACHE) << "acct/b was not cached";
  ASSERT_TRUE(at_edge.Get("acct/a", &got).ok());
  ASSERT_EQ(got.entry().value(), "60");
  ASSERT_EQ(got.info().source(), kvstore::v1::SOURCE_EDGE_CACHE);
  response.Clear();
  grpc::ClientContext again;
  again.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  s = at_edge.stub->BatchGet(&again, request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << edge.ReadLog();
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).entry().value(), "0");
  EXPECT_EQ(response.results(1).entry().value(), "100");
  EXPECT_EQ(kv.batch_gets.load(), 2) << "the batch of hits was not answered upstream";
  EXPECT_EQ(edge.Stop(), 0);
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
}

}  // namespace
}  // namespace kv::testing

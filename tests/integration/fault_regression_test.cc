// Deterministic reproductions of server bugs the fault scenarios found (docs/faults.md, "Bugs
// found"), kept as regression tests: each failed before ab77eed and passes after it.

#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/integration/fault_fixture.h"
#include "tests/support/raw_kv.h"

namespace kv::testing {
namespace {

// The scenarios' fixture (clusters with proxied links), under its own name.
class FaultRegressionTest : public FaultScenarioTest {};

// An edge beyond its bound and cut off from its upstream must not answer a read with allow_stale
// from a local copy older than the read's min_version: a session client would no longer see its
// own acknowledged write. (Found by PartitionAndHeal, seed 1.)
TEST_F(FaultRegressionTest, StaleFallbackHonoursMinVersion) {
  ASSERT_NO_FATAL_FAILURE(StartStar(cluster_.get()));
  ASSERT_OK(cluster_->WaitAllReady());
  RawKv central(cluster_->central().address());
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(central.Put("session-key", "old", &put).ok());
  for (ClusterNode* e : cluster_->edges()) {
    ASSERT_TRUE(WaitFor(
        [&] {
          auto s = e->process->Status();
          return s.ok() && s->head_version() >= put.version();
        },
        absl::Seconds(10)));
    kvstore::v1::GetResponse got;
    ASSERT_TRUE(RawKv(e->address()).Get("session-key", &got).ok());  // cache edge: now cached
    Partition(*e);
  }
  ASSERT_TRUE(central.Put("session-key", "new", &put).ok());
  absl::SleepFor(kEdgeMaxStaleness + absl::Milliseconds(300));
  for (ClusterNode* e : cluster_->edges()) {
    kvstore::v1::ReadOptions options = Bounded(200'000, /*allow_stale=*/true);
    options.set_min_version(put.version());
    kvstore::v1::GetResponse got;
    grpc::Status s = RawKv(e->address()).Get("session-key", &got, options);
    EXPECT_TRUE(!s.ok() || got.info().as_of_version() >= put.version())
        << e->name << " answered min_version " << put.version() << " with \"" << got.entry().value()
        << "\" as of version " << got.info().as_of_version() << " (stale=" << got.info().stale()
        << ")";
  }
}

// A read at a cache edge that joins a cold fetch already answered by the upstream (the answer
// still in flight) must not pass on the upstream's staleness (0 from the central node): a write
// acknowledged before the read began would be missing from an answer claiming to be current.
// (Found by SlowLinks, seed 1.)
TEST_F(FaultRegressionTest, CoalescedFetchReportsItsStaleness) {
  ASSERT_OK(cluster_->StartCentral());
  ASSERT_OK(cluster_->StartEdge("edge-b", "central", "cache"));
  ASSERT_OK(cluster_->WaitAllReady());
  ClusterNode& edge = Edge("edge-b");
  RawKv central(cluster_->central().address());
  ASSERT_TRUE(central.Put("cold", "v1").ok());
  // Answers from the upstream take 400 ms to arrive; requests go through at once.
  edge.link->SetDelay(Direction::kServerToClient, absl::Milliseconds(400));
  std::thread first([&] {
    kvstore::v1::GetResponse got;
    RawKv(edge.address()).Get("cold", &got);
  });
  absl::SleepFor(absl::Milliseconds(100));  // the fetch has been answered, the answer travels
  ASSERT_TRUE(central.Put("cold", "v2").ok());
  absl::Time acked = absl::Now();
  absl::SleepFor(absl::Milliseconds(50));
  absl::Time invoked = absl::Now();
  kvstore::v1::GetResponse got;
  grpc::Status s = RawKv(edge.address()).Get("cold", &got);
  first.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  // Either the answer has v2, or its staleness admits it may predate v2's acknowledgement.
  EXPECT_TRUE(got.entry().value() == "v2" ||
              got.info().staleness_micros() >= absl::ToInt64Microseconds(invoked - acked))
      << "answered \"" << got.entry().value() << "\" (source "
      << kvstore::v1::Source_Name(got.info().source()) << ", as of version "
      << got.info().as_of_version() << ") with staleness " << got.info().staleness_micros()
      << " us, invoked " << absl::FormatDuration(invoked - acked) << " after v2 was acknowledged";
}

// A BatchGet at a cache edge with a cold key must report the staleness its cache hits were read
// at, not that of when its last fetch finished: if the stream caught up meanwhile, a stale hit
// would be labelled fresh. (Found by SlowLinks, seed 12.)
TEST_F(FaultRegressionTest, CacheBatchGetReportsItsStaleness) {
  ASSERT_OK(cluster_->StartCentral());
  ASSERT_OK(cluster_->StartEdge("edge-b", "central", "cache"));
  ASSERT_OK(cluster_->WaitAllReady());
  ClusterNode& edge = Edge("edge-b");
  RawKv central(cluster_->central().address());
  RawKv at_edge(edge.address());
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(central.Put("cold", "c1").ok());
  ASSERT_TRUE(central.Put("hot", "v1", &put).ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = edge.process->Status();
        return s.ok() && s->head_version() >= put.version();
      },
      absl::Seconds(10)));
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(at_edge.Get("hot", &got).ok());  // now cached
  // The stream (and every answer) stops reaching the edge; it stays within its 1 s bound.
  edge.link->Pause(Direction::kServerToClient);
  ASSERT_TRUE(central.Put("hot", "v2", &put).ok());
  absl::Time acked = absl::Now();
  absl::SleepFor(absl::Milliseconds(100));
  absl::Time invoked = absl::Now();
  kvstore::v1::BatchGetResponse batch;
  grpc::Status s;
  std::thread reader([&] {
    kvstore::v1::BatchGetRequest req;
    req.add_keys("hot");
    req.add_keys("cold");  // a miss: the batch waits for its fetch
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    s = at_edge.stub->BatchGet(&ctx, req, &batch);
  });
  absl::SleepFor(absl::Milliseconds(100));
  edge.link->Resume(Direction::kServerToClient);  // v2, pongs and the fetch's answer arrive
  reader.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(batch.results_size(), 2);
  EXPECT_TRUE(batch.results(0).entry().value() == "v2" ||
              batch.info().staleness_micros() >= absl::ToInt64Microseconds(invoked - acked))
      << "answered \"" << batch.results(0).entry().value() << "\" as of version "
      << batch.info().as_of_version() << " with staleness " << batch.info().staleness_micros()
      << " us, invoked " << absl::FormatDuration(invoked - acked) << " after v2 (version "
      << put.version() << ") was acknowledged";
}

}  // namespace
}  // namespace kv::testing

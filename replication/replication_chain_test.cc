// The downstream side against the real upstream side: Subscriber -> gRPC -> ReplicationService
// -> Publisher over a real VersionedStore, directly and through a relay (a FullEdgeApplier that
// feeds its own publisher). Besides convergence, a watcher checks the freshness property on
// real clocks while the stream runs: every version whose commit had completed before a node's
// fresh_as_of is applied at that node.

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "absl/time/clock.h"
#include "replication/freshness.h"
#include "replication/subscriber.h"
#include "replication/testing/fake_applier.h"
#include "replication/testing/upstream_node.h"
#include "server/edge/full_edge_applier.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"

namespace kv::replication {
namespace {

using testing::FakeApplier;

using ::kv::testing::WaitFor;

// Commits at a central node and checks, while the stream runs, the freshness property on real
// clocks: every version whose commit had completed before a node's fresh_as_of is applied there.
class CommitLog {
 public:
  void Committed(uint64_t version) {
    int64_t now = Clock::Real()->MonotonicMicros();
    absl::MutexLock l(&mu_);
    done_at_.resize(version + 1, now);
  }
  // The number of versions whose commit completed before `t`.
  uint64_t CompletedBefore(int64_t t) const {
    absl::MutexLock l(&mu_);
    return std::lower_bound(done_at_.begin() + 1, done_at_.end(), t) - (done_at_.begin() + 1);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<int64_t> done_at_ ABSL_GUARDED_BY(mu_) = {0};
};

// Samples (fresh_as_of, applied) of each watched node until stopped; counts violations.
class FreshnessWatch {
 public:
  explicit FreshnessWatch(const CommitLog* log) : log_(log) {}
  ~FreshnessWatch() { Stop(); }
  void Watch(const FreshnessTracker* f, std::function<uint64_t()> applied, std::string name) {
    nodes_.push_back({f, std::move(applied), std::move(name)});
  }
  void Start() {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        for (const auto& n : nodes_) {
          int64_t fresh = n.freshness->FreshAsOfMicros();
          if (fresh == std::numeric_limits<int64_t>::min()) continue;
          uint64_t applied = n.applied();  // read after fresh_as_of: it only grows
          uint64_t needed = log_->CompletedBefore(fresh);
          ++samples_;
          if (needed > applied && violations_++ == 0) {
            absl::MutexLock l(&mu_);
            first_ = n.name + " is fresh as of a time by which version " + std::to_string(needed) +
                     " was committed, but applied only " + std::to_string(applied);
          }
        }
        absl::SleepFor(absl::Microseconds(300));
      }
    });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t samples() const { return samples_.load(); }
  uint64_t violations() const { return violations_.load(); }
  std::string first() {
    absl::MutexLock l(&mu_);
    return first_;
  }

 private:
  struct Node {
    const FreshnessTracker* freshness;
    std::function<uint64_t()> applied;
    std::string name;
  };
  const CommitLog* const log_;
  std::vector<Node> nodes_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> samples_{0}, violations_{0};
  absl::Mutex mu_;
  std::string first_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Commits `n` changes in random batches with short pauses, recording each commit.
void CommitUnderLoad(testing::UpstreamNode* central, CommitLog* log, int n, uint32_t seed,
                     std::map<std::string, std::string>* expected) {
  std::mt19937 rng(seed);
  int done = 0;
  while (done < n) {
    int batch = std::min<int>(1 + rng() % 20, n - done);
    for (const auto& c : central->CommitPuts(batch, 1 + rng() % 200, 300)) {
      (*expected)[c.key()] = c.value();
      log->Committed(c.version());
    }
    done += batch;
    if (rng() % 4 == 0) absl::SleepFor(absl::Microseconds(rng() % 3000));
  }
}

SubscriberOptions FastOptions(const std::string& node_id) {
  SubscriberOptions o;
  o.node_id = node_id;
  o.ping_interval = absl::Milliseconds(20);
  o.initial_backoff = absl::Milliseconds(20);
  o.max_backoff = absl::Milliseconds(200);
  return o;
}

TEST(ReplicationChain, FollowsARealPublisherAndNeverOverstatesFreshness) {
  kv::testing::TempDir dir;
  auto central = testing::UpstreamNode::Start(dir.Sub("central"), {});
  ASSERT_NE(central, nullptr);
  auto stub = central->NewStub();
  FakeApplier applier(FakeApplier::Options().set_cluster_id(central->cluster_id()));
  FreshnessTracker freshness(Clock::Real());
  CommitLog log;
  FreshnessWatch watch(&log);
  watch.Watch(
      &freshness, [&] { return applier.applied_version(); }, "edge");
  watch.Start();
  Subscriber sub(stub.get(), central->address(), &applier, applier.snapshots(), &freshness,
                 Clock::Real(), FastOptions("edge"));
  sub.Start();
  std::map<std::string, std::string> expected;
  CommitUnderLoad(central.get(), &log, 3000, 1, &expected);
  uint64_t head = central->store()->head_version();
  ASSERT_TRUE(applier.WaitApplied(head, absl::Seconds(20)));
  ASSERT_TRUE(WaitFor([&] { return freshness.StalenessMicros() < 200'000; }));
  watch.Stop();
  EXPECT_EQ(watch.violations(), 0u) << watch.first();
  EXPECT_GT(watch.samples(), 10u);
  EXPECT_EQ(applier.out_of_order(), 0);
  EXPECT_EQ(applier.versions().size(), head);
  EXPECT_EQ(applier.data(), expected);
  EXPECT_EQ(sub.gaps(), 0u);
  EXPECT_EQ(sub.resumes(), 1u);
  // The upstream sees the acknowledgements.
  ASSERT_TRUE(WaitFor([&] {
    std::vector<kvstore::v1::DownstreamStatus> d;
    central->publisher()->GetDownstreams(&d);
    return d.size() == 1 && d[0].acked_version() == head && d[0].lag_versions() == 0;
  }));
  sub.Stop();
}

TEST(ReplicationChain, ARelayChainConvergesAndAddsItsStalenessDownTheChain) {
  kv::testing::TempDir dir;
  auto central = testing::UpstreamNode::Start(dir.Sub("central"), {});
  ASSERT_NE(central, nullptr);
  CommitLog log;
  std::map<std::string, std::string> expected;
  CommitUnderLoad(central.get(), &log, 500, 2, &expected);  // the relay bootstraps by snapshot

  // The relay: a full edge store that passes every applied batch to its own publisher.
  FreshnessTracker relay_fresh(Clock::Real());
  std::unique_ptr<server::FullEdgeApplier> relay_store;
  testing::UpstreamNodeOptions relay_options;
  relay_options.central = false;
  relay_options.publisher.node_id = "relay";
  relay_options.staleness = [&] { return relay_fresh.StalenessMicros(); };
  relay_options.can_serve = [&] {
    return relay_store && !relay_store->NeedsBootstrap() ? absl::OkStatus()
                                                         : absl::UnavailableError("bootstrapping");
  };
  auto relay = testing::UpstreamNode::Start(dir.Sub("relay"), relay_options);
  ASSERT_NE(relay, nullptr);
  relay_store = std::make_unique<server::FullEdgeApplier>(relay->store(), relay->publisher(),
                                                          /*fetcher=*/nullptr);
  auto central_stub = central->NewStub();
  Subscriber relay_sub(central_stub.get(), central->address(), relay_store.get(), relay_store.get(),
                       &relay_fresh, Clock::Real(), FastOptions("relay"));

  // The edge below it.
  FakeApplier edge(FakeApplier::Options().set_needs_bootstrap(true));
  FreshnessTracker edge_fresh(Clock::Real());
  auto relay_stub = relay->NewStub();
  Subscriber edge_sub(relay_stub.get(), relay->address(), &edge, edge.snapshots(), &edge_fresh,
                      Clock::Real(), FastOptions("edge"));

  FreshnessWatch watch(&log);
  watch.Watch(
      &relay_fresh, [&] { return relay_store->applied_version(); }, "relay");
  watch.Watch(
      &edge_fresh, [&] { return edge.applied_version(); }, "edge");
  watch.Start();
  relay_sub.Start();
  edge_sub.Start();
  CommitUnderLoad(central.get(), &log, 2000, 3, &expected);
  uint64_t head = central->store()->head_version();
  ASSERT_TRUE(edge.WaitApplied(head, absl::Seconds(30))) << edge.applied_version();
  ASSERT_TRUE(WaitFor([&] { return edge_fresh.StalenessMicros() < 300'000; }));
  watch.Stop();
  EXPECT_EQ(watch.violations(), 0u) << watch.first();
  EXPECT_GT(watch.samples(), 10u);
  EXPECT_EQ(relay_sub.snapshots(), 1u);
  EXPECT_EQ(edge_sub.snapshots(), 1u);
  EXPECT_EQ(edge.out_of_order(), 0);
  EXPECT_EQ(edge.data(), expected);
  EXPECT_EQ(relay_store->cluster_id(), central->cluster_id());
  EXPECT_EQ(edge.cluster_id(), central->cluster_id());
  // The edge is never fresher than the relay it hears from (staleness adds up down the chain).
  int64_t edge_as_of = edge_fresh.FreshAsOfMicros();  // read first: both only grow
  int64_t relay_as_of = relay_fresh.FreshAsOfMicros();
  EXPECT_LE(edge_as_of, relay_as_of);
  edge_sub.Stop();
  relay_sub.Stop();
}

}  // namespace
}  // namespace kv::replication

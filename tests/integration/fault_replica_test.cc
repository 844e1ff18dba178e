// LocalReplicas under the fault scenarios' workload and history checker, as edges are: a full
// replica following the central node and a cache replica following the full edge, each over its
// own FaultProxy link, while the upstream is killed, paused (SIGSTOP) and partitioned. Their
// reads and the writes sent through them are recorded and checked like any node's (zero
// violations); the replicas live in this process behind ReplicaKvServer. See docs/faults.md.

#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "tests/faultproxy/fault_proxy.h"
#include "tests/integration/fault_fixture.h"
#include "tests/integration/replica_kv_server.h"

namespace kv::testing {
namespace {

class ReplicaFaultTest : public FaultScenarioTest {
 protected:
  // A replica of `mode` following `upstream` through a new proxy, served as target `name`.
  FaultProxy* AddReplica(const std::string& name, ClusterNode& upstream, client::ReplicaMode mode) {
    FaultProxyOptions proxy;
    proxy.target_address = upstream.address();
    proxy.seed = links_.size() + 1;
    links_.push_back(std::make_unique<FaultProxy>(proxy));
    EXPECT_TRUE(links_.back()->Start().ok());
    client::LocalReplicaOptions options;
    options.upstream = links_.back()->listen_address();
    options.mode = mode;
    options.node_id = name;
    options.max_staleness = kEdgeMaxStaleness;
    options.timeout = absl::Seconds(1);
    auto replica = client::LocalReplica::Create(options);
    EXPECT_TRUE(replica.ok()) << replica.status();
    EXPECT_TRUE((*replica)->WaitUntilReady(absl::Seconds(30)).ok());
    auto server = ReplicaKvServer::Start(*std::move(replica), mode);
    EXPECT_TRUE(server.ok()) << server.status();
    extra_targets_.push_back(
        {name, (*server)->address(), false, absl::ToInt64Microseconds(kEdgeMaxStaleness)});
    servers_.push_back(*std::move(server));
    return links_.back().get();
  }

  void TearDown() override {
    servers_.clear();  // before the links and the cluster they follow
    for (auto& link : links_) link->Stop();
    FaultScenarioTest::TearDown();
  }

  std::vector<std::unique_ptr<FaultProxy>> links_;
  std::vector<std::unique_ptr<ReplicaKvServer>> servers_;
};

TEST_F(ReplicaFaultTest, LocalReplicasWhileTheirUpstreamsFail) {
  ASSERT_NO_FATAL_FAILURE(StartStar(cluster_.get()));
  ASSERT_OK(cluster_->WaitAllReady());
  FaultProxy* full_link =
      AddReplica("replica-full", cluster_->central(), client::ReplicaMode::kFull);
  FaultProxy* cache_link = AddReplica("replica-cache", Edge("edge-a"), client::ReplicaMode::kCache);
  ASSERT_FALSE(HasFailure());
  RunScenario([&](std::mt19937_64& rng) {
    const absl::Duration hold = Millis(rng, 300, 1500);
    switch (rng() % 4) {
      case 0:
        Note("partition replica-full");
        full_link->RefuseNew(true);
        full_link->CutAll();
        absl::SleepFor(hold);
        Note("heal replica-full");
        full_link->ClearFaults();
        full_link->RefuseNew(false);
        break;
      case 1:
        Note("silent partition replica-cache");
        cache_link->Pause();
        absl::SleepFor(hold);
        Note("heal replica-cache");
        cache_link->Resume();
        break;
      case 2:
        Note("pause central (SIGSTOP)");
        cluster_->central().process->Pause();
        absl::SleepFor(hold);
        Note("resume central");
        cluster_->central().process->Resume();
        break;
      default:
        Kill(cluster_->central());
        absl::SleepFor(hold);
        Restart(cluster_->central());
        break;
    }
  });
}

}  // namespace
}  // namespace kv::testing

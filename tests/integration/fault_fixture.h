#pragma once
// The gtest fixture of the fault scenarios: a FaultCluster per test, a seeded fault schedule
// around a recorded workload, and the final checks (docs/faults.md).

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/checker/history.h"
#include "tests/integration/fault_check.h"
#include "tests/integration/fault_cluster.h"
#include "tests/integration/fault_workload.h"

namespace kv::testing {

#define ASSERT_OK(expr)                   \
  do {                                    \
    const absl::Status status_ = (expr);  \
    ASSERT_TRUE(status_.ok()) << status_; \
  } while (false)

// A duration uniform in [lo, hi] milliseconds.
absl::Duration Millis(std::mt19937_64& rng, int lo, int hi);

// Central with a full edge "edge-a" and a cache edge "edge-b", each behind its own link.
void StartStar(FaultCluster* cluster);

class FaultScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // On failure: prints how to reproduce and the tail of every node's log.
  void TearDown() override;

  // Runs the workload for the scenario's duration, calling `cycle` (inject a fault, hold it,
  // heal it) again and again with healthy gaps in between, then heals everything, waits for the
  // cluster to settle and checks the history, the log and every node's content. `tap`: where
  // the log comes from when the central node trims it.
  void RunScenario(const std::function<void(std::mt19937_64&)>& cycle, LogTap* tap = nullptr);

  ClusterNode& Edge(const std::string& name) { return cluster_->node(name); }

  // Faults, each recorded as an event (printed with a failure, saved as faults.txt).
  // A partition of `edge` from its upstream: open connections reset, new ones refused.
  void Partition(ClusterNode& edge);
  // Removes every fault of the edge's link.
  void Heal(ClusterNode& edge);
  void Kill(ClusterNode& node);
  void Restart(ClusterNode& node);
  // Records an event on the clock the history uses.
  void Note(const std::string& what);

  FaultEnv env_;
  // Clients to call besides the cluster's nodes (an in-process LocalReplica's server).
  std::vector<Target> extra_targets_;
  uint64_t seed_ = 0;
  std::unique_ptr<FaultCluster> cluster_;
  // Set by RunScenario once the cluster settled.
  FinalState final_state_;

 private:
  // Central first (most writes go there), then every edge.
  // The cluster's nodes, then extra_targets_.
  std::vector<Target> Targets();
  // Settles the cluster, runs the checks and reports.
  void Verify(checker::History* history, const Workload& workload, LogTap* tap,
              absl::Duration workload_time);
  // One line per event, in seconds since the first call (like the checker's messages).
  std::string Events(const std::vector<checker::Operation>& ops) const;
  std::string ArtifactsDir() const;
  void SaveEvents(const std::string& dir, const std::vector<checker::Operation>& ops) const;

  int cycles_ = 0;
  std::vector<std::pair<int64_t, std::string>> events_;
};

}  // namespace kv::testing

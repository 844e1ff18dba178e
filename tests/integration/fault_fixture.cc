#include "tests/integration/fault_fixture.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "tests/checker/hash.h"

namespace kv::testing {

using checker::Operation;

namespace {
// Client id of the final convergence reads at cache edges.
constexpr uint64_t kFinalReader = 10000;

const ::testing::TestInfo& CurrentTest() {
  return *::testing::UnitTest::GetInstance()->current_test_info();
}

std::string Ms(absl::Duration d) {
  return absl::FormatDuration(absl::Trunc(d, absl::Milliseconds(1)));
}
}  // namespace

absl::Duration Millis(std::mt19937_64& rng, int lo, int hi) {
  return absl::Milliseconds(lo + static_cast<int>(rng() % (hi - lo + 1)));
}

void StartStar(FaultCluster* cluster) {
  ASSERT_OK(cluster->StartCentral());
  ASSERT_OK(cluster->StartEdge("edge-a", "central", "full"));
  ASSERT_OK(cluster->StartEdge("edge-b", "central", "cache"));
}

void FaultScenarioTest::SetUp() {
  env_ = FaultEnvFromEnvironment();
  // Each scenario gets its own stream of randomness from the one seed.
  seed_ = checker::Mix64(env_.seed ^ checker::HashValue(CurrentTest().name()));
  cluster_ = std::make_unique<FaultCluster>(seed_);
}

void FaultScenarioTest::TearDown() {
  if (HasFailure()) {
    std::cerr << "reproduce: KV_FAULT_SEED=" << env_.seed
              << " KV_FAULT_SECONDS=" << absl::ToDoubleSeconds(env_.duration)
              << " fault_scenarios_integration_test --gtest_filter="
              << CurrentTest().test_suite_name() << "." << CurrentTest().name() << "\n";
    cluster_->PrintLogTails(30);
  }
  cluster_.reset();
}

std::vector<Target> FaultScenarioTest::Targets() {
  std::vector<Target> out;
  for (ClusterNode* n : cluster_->nodes()) {
    out.push_back({n->name, n->address(), n->central(),
                   n->central() ? -1 : absl::ToInt64Microseconds(kEdgeMaxStaleness)});
  }
  out.insert(out.end(), extra_targets_.begin(), extra_targets_.end());
  return out;
}

void FaultScenarioTest::RunScenario(const std::function<void(std::mt19937_64&)>& cycle,
                                    LogTap* tap) {
  ASSERT_OK(cluster_->WaitAllReady());
  checker::History history;
  Workload workload(Targets(), &history, WorkloadOptions{}, seed_);
  std::mt19937_64 rng(seed_);
  absl::Time start = absl::Now();
  absl::Time end = start + env_.duration;
  workload.Start();
  absl::SleepFor(Millis(rng, 200, 500));
  while (absl::Now() + absl::Milliseconds(500) < end && !HasFatalFailure()) {
    cycle(rng);
    ++cycles_;
    // Long enough for reconnects to succeed, so each cycle starts from a working cluster.
    absl::SleepFor(Millis(rng, 400, 1000));
  }
  // Healthy tail: the workload also runs against the recovered cluster.
  absl::SleepFor(std::max(end - absl::Now(), absl::Milliseconds(300)));
  workload.Stop();
  if (HasFatalFailure()) return;
  Verify(&history, workload, tap, absl::Now() - start);
}

void FaultScenarioTest::Verify(checker::History* history, const Workload& workload, LogTap* tap,
                               absl::Duration workload_time) {
  ASSERT_OK(cluster_->HealAll());
  absl::Time settle = absl::Now();
  absl::StatusOr<FinalState> state =
      CollectFinalState(*cluster_, workload.keys(), history, kFinalReader, tap);
  absl::Duration settle_time = absl::Now() - settle;
  const std::vector<Operation> ops = history->Snapshot();
  const std::string artifacts = ArtifactsDir();
  if (!state.ok()) {
    SaveArtifacts(artifacts, ops, FinalState{}, *cluster_);
    SaveEvents(artifacts, ops);
    FAIL() << "the cluster did not settle: " << state.status() << "\n(history and node logs in "
           << artifacts << ")";
  }
  absl::Time check_start = absl::Now();
  Verdict verdict = CheckRun(ops, workload.session_clients(), *state);
  absl::Duration check_time = absl::Now() - check_start;
  final_state_ = *state;

  WorkloadCounts n = workload.counts();
  std::cout << absl::StrFormat(
      "[fault] %s seed=%d: %d fault cycles in %s; writes ok=%d failed=%d unknown=%d; reads ok=%d "
      "not-ok=%d; %d ops, log head %d; settled in %s, checked in %s: %s\n",
      CurrentTest().name(), env_.seed, cycles_, Ms(workload_time), n.writes_ok, n.writes_failed,
      n.writes_unknown, n.reads_ok, n.reads_not_ok, ops.size(), state->head, Ms(settle_time),
      Ms(check_time), verdict.ok() ? "no violations" : "VIOLATIONS");
  if (!verdict.ok()) {
    std::string command = SaveArtifacts(artifacts, ops, *state, *cluster_);
    SaveEvents(artifacts, ops);
    ADD_FAILURE() << verdict.Summary() << "faults (times as in the checker's messages):\n"
                  << Events(ops) << "artifacts: " << artifacts << "\nre-check: " << command;
  } else if (env_.keep_artifacts) {
    SaveArtifacts(artifacts, ops, *state, *cluster_);
    SaveEvents(artifacts, ops);
    std::cout << "[fault] artifacts: " << artifacts << "\n";
  }
  EXPECT_EQ(verdict.lost_writes(), 0u);
  EXPECT_GT(cycles_, 0);
  // Guards against a run that checked nothing.
  EXPECT_GT(n.writes_ok, 50u);
  EXPECT_GT(n.reads_ok, 50u);
}

void FaultScenarioTest::Partition(ClusterNode& edge) {
  edge.link->RefuseNew(true);
  int cut = edge.link->CutAll();
  Note(absl::StrCat("partition ", edge.name, " (", cut, " connections reset)"));
}

void FaultScenarioTest::Heal(ClusterNode& edge) {
  Note("heal " + edge.name);
  edge.link->ClearFaults();
}

void FaultScenarioTest::Kill(ClusterNode& node) {
  Note("kill -9 " + node.name);
  node.process->Kill();
}

void FaultScenarioTest::Restart(ClusterNode& node) {
  Note("restart " + node.name);
  ASSERT_OK(cluster_->Start(node));
  Note(node.name + " serving");
}

void FaultScenarioTest::Note(const std::string& what) {
  events_.emplace_back(Clock::Real()->MonotonicMicros(), what);
}

std::string FaultScenarioTest::Events(const std::vector<Operation>& ops) const {
  int64_t t0 = ops.empty() ? 0 : ops.front().invoke_micros;
  for (const Operation& op : ops) t0 = std::min(t0, op.invoke_micros);
  std::string out;
  for (const auto& [t, what] : events_) {
    absl::StrAppendFormat(&out, "  %+.6fs %s\n", (t - t0) / 1e6, what);
  }
  return out;
}

std::string FaultScenarioTest::ArtifactsDir() const {
  return absl::StrCat(env_.artifacts_dir, "/kv-faults-", CurrentTest().name(), "-seed", env_.seed,
                      "-", getpid());
}

void FaultScenarioTest::SaveEvents(const std::string& dir,
                                   const std::vector<Operation>& ops) const {
  std::ofstream(dir + "/faults.txt") << Events(ops);
}

}  // namespace kv::testing

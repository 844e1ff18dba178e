#pragma once
// The end of every fault scenario: wait until the cluster is quiet and every node has applied the
// central node's head, collect the change log and every node's content, and run the history
// checker and the convergence check on them. See docs/faults.md and docs/checker.md.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kvstore/v1/replication.pb.h"
#include "tests/checker/checker.h"
#include "tests/checker/convergence.h"
#include "tests/checker/history.h"
#include "tests/integration/fault_cluster.h"

namespace kv::testing {

// Follows the central node's change stream from version 1 for the whole run and keeps every
// change, reconnecting from where it stopped. For scenarios whose central node trims its log
// (tiny retention), so the log can no longer be read from version 1 afterwards.
class LogTap {
 public:
  explicit LogTap(std::string address);
  ~LogTap();
  LogTap(const LogTap&) = delete;
  LogTap& operator=(const LogTap&) = delete;

  // Changes 1..`until`, waiting up to `timeout` for the tap to receive them. Fails if the tap
  // was RESET or saw a gap (the harness fell behind the retained log).
  absl::StatusOr<std::vector<kvstore::v1::Change>> Changes(uint64_t until, absl::Duration timeout);

 private:
  void Run();

  const std::string address_;
  mutable absl::Mutex mu_;
  std::vector<kvstore::v1::Change> changes_ ABSL_GUARDED_BY(mu_);
  std::string error_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* current_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

// One node's final content.
struct NodeContent {
  std::string node;
  // The version the content is consistent at (a cache edge: the head its reads reflect).
  uint64_t version = 0;
  std::vector<checker::NodeEntry> entries;
};

struct FinalState {
  // The central node's head once the cluster is quiet; every node has applied it.
  uint64_t head = 0;
  // The change log 1..head, hashes of invalidated values filled in where the central node still
  // holds them.
  std::vector<checker::LogEntry> log;
  std::vector<NodeContent> contents;
  // Unix seconds after the contents were read: keys expired by then are left out on both sides.
  int64_t now_unix_seconds = 0;
};

// Heals nothing: call after the workload stopped and faults were removed. Waits (up to
// `timeout`) until every edge has applied the central node's head and the head stays put, then
// reads every full node's content with Snapshot and every cache edge's by reading each of
// `keys` with min_version = head (those reads are recorded into `history`, as client
// `reader_client`). The log comes from `tap` when given, else from the central node.
absl::StatusOr<FinalState> CollectFinalState(FaultCluster& cluster,
                                             const std::vector<std::string>& keys,
                                             checker::History* history, uint64_t reader_client,
                                             LogTap* tap,
                                             absl::Duration timeout = absl::Seconds(60));

struct Verdict {
  // Every operation, without session guarantees (some clients have no session).
  checker::CheckResult all;
  // Writes and the session clients' reads, with the session guarantees.
  checker::CheckResult sessions;
  // Every node against the log's final state.
  checker::CheckResult convergence;

  bool ok() const { return all.ok() && sessions.ok() && convergence.ok(); }
  size_t lost_writes() const { return all.count(checker::ViolationKind::kLostWrite); }
  std::string Summary() const;
};

Verdict CheckRun(const std::vector<checker::Operation>& ops,
                 const std::set<uint64_t>& session_clients, const FinalState& state);

// Saves the history, the log, every node's content (JSON lines, for kvcheck) and every node's log
// under `dir`, and returns a kvcheck command line that re-checks them.
std::string SaveArtifacts(const std::string& dir, const std::vector<checker::Operation>& ops,
                          const FinalState& state, const FaultCluster& cluster);

}  // namespace kv::testing

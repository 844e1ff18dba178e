#pragma once
// A simulated single-copy store that produces correct histories for testing the checker: one
// central node commits writes in version order after random delays, edges apply the log after
// random lags and answer reads within their bound (or forward them), clients use sessions.
// Everything it records is true by construction, so the checker must accept it; tests then
// corrupt one thing and expect the checker to notice.

#include <cstdint>
#include <string>
#include <vector>

#include "tests/checker/change_log_model.h"
#include "tests/checker/convergence.h"
#include "tests/checker/history.h"

namespace kv::checker {

struct SimOptions {
  uint64_t seed = 1;
  int clients = 8;
  int keys = 16;
  int ops_per_client = 300;
  int edges = 2;  // named edge-0, edge-1, ...
  // Share of operations that are writes, and of writes that are deletes.
  double write_fraction = 0.35;
  double delete_fraction = 0.2;
  // Share of writes whose outcome the client never learns / that fail definitely.
  double unknown_fraction = 0.05;
  double failed_fraction = 0.02;
  // Share of puts too large to push (logged as invalidations without a value hash), and of
  // puts with an expiration.
  double invalidate_fraction = 0.05;
  double expiring_fraction = 0.1;
  // Share of reads that are strong, and of bounded reads sent to the central node.
  double strong_fraction = 0.1;
  double central_read_fraction = 0.1;
  // Delays in microseconds: invoke -> commit, commit -> acknowledgement, commit -> applied at
  // an edge (occasionally 10x), client think time.
  int64_t max_commit_delay = 2'000;
  int64_t max_ack_delay = 2'000;
  int64_t max_apply_lag = 30'000;
  int64_t max_think = 1'000;
  // Staleness bounds reads ask for (one at random).
  std::vector<int64_t> bounds = {5'000, 20'000, 100'000};
  // Expiry-sweep deletions (unexplained by clients).
  int sweeps = 10;
  // Clients carry a session version into reads as min_version.
  bool sessions = true;
  // Injected bug: edges answer locally however stale they are (and report staleness 0).
  bool bug_edges_ignore_bound = false;
};

struct SimRun {
  std::vector<Operation> ops;
  std::vector<LogEntry> log;
  // True commit time of version v at commit_time[v - 1].
  std::vector<int64_t> commit_time;
  // The history index of the write that produced version v at writer[v - 1]; -1 = a sweep.
  std::vector<int64_t> writer;
  // Final content of every node (all caught up): the log's live state.
  std::vector<NodeEntry> final_content;
};

SimRun Simulate(const SimOptions& options);

}  // namespace kv::checker

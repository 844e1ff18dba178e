#pragma once
// What `kvd central` and `kvd edge` share once their node is open: its Replication service (an
// upstream's, or one that refuses), call tracking, metrics, and the ordered shutdown of Serve.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/kvd/serve.h"
#include "server/metrics/metrics.h"
#include "server/node/node.h"
#include "server/node/replication_source.h"

namespace kv::server {

struct RoleHooks {
  // Checks callers' tokens (required).
  Gatekeeper* gate = nullptr;
  // The central node's key set administration; null elsewhere.
  KeySetAdmin* key_sets = nullptr;
  // The central node's online backups; null elsewhere.
  BackupAdmin* backups = nullptr;
  // The node's watchers (required).
  WatchHub* watch_hub = nullptr;
  // This node's chain for replication refusals (replication/chain.h); null = the publisher's.
  std::function<std::vector<std::string>()> chain;
  // Once serving, with the bound gRPC address (an edge starts replicating).
  std::function<void(const std::string& grpc_address)> on_serving;
  // --max-concurrent-snapshots: snapshots this node serves at once (an upstream's).
  int max_concurrent_snapshots = 2;
  // When a shutdown begins, before downstream streams end and calls in flight drain: a leader
  // with standbys steps down here (its lease's trust ends, so a write waiting for standbys gives
  // up; run after the drain, that write held the drain, and the process, forever).
  std::function<void()> step_down;
  // After the RPC server is down: stop the node's background work.
  std::function<void()> stop;
};

// Serves `node` until SIGINT/SIGTERM. `source` is the node's upstream side, or null for a node
// that cannot be an upstream, whose Replication calls are refused with `not_an_upstream`.
absl::Status ServeRole(Node* node, ReplicationSource* source, const std::string& not_an_upstream,
                       const ServeOptions& options, Metrics* metrics, RoleHooks hooks);

}  // namespace kv::server

#pragma once
// A cluster of real kvd processes for fault-injection scenarios: one central node and edges
// whose connection to their upstream each passes through its own FaultProxy, so a scenario can
// cut, pause or slow any link and kill -9 any node. See docs/faults.md.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/faultproxy/fault_proxy.h"
#include "tests/support/kvd_process.h"
#include "tests/support/temp_dir.h"

namespace kv::testing {

// Settings shared by every scenario, read from the environment so a soak can vary them.
struct FaultEnv {
  // KV_FAULT_SEED: drives the workload, the fault schedule and the proxies' jitter.
  uint64_t seed = 1;
  // KV_FAULT_SECONDS: how long each scenario's workload runs (fractions allowed).
  absl::Duration duration = absl::Seconds(4);
  // KV_FAULT_ARTIFACTS: where a failing run's history, log, contents and node logs are saved
  // (default: $TMPDIR, else /tmp).
  std::string artifacts_dir;
  // KV_FAULT_KEEP=1: save the artifacts of passing runs too.
  bool keep_artifacts = false;
};
FaultEnv FaultEnvFromEnvironment();

// Edges run with --max-staleness of this (bounded reads default to it; staler edges forward).
inline constexpr absl::Duration kEdgeMaxStaleness = absl::Seconds(1);
// Values above this travel as invalidations (central and relays), so scenarios exercise the
// background fetch path with values of a few KiB.
inline constexpr char kPushValueLimit[] = "2KiB";

struct ClusterNode {
  std::string name;
  // "central", "full" or "cache".
  std::string mode;
  // The upstream node's name; empty for the central node.
  std::string upstream;
  std::unique_ptr<KvdProcess> process;
  // Edges only: the proxy the edge's --upstream points at, forwarding to the upstream node.
  std::unique_ptr<FaultProxy> link;

  bool central() const { return mode == "central"; }
  bool cache() const { return mode == "cache"; }
  const std::string& address() const { return process->address(); }
};

// Marks every open descriptor of this process close-on-exec. The proxies' sockets are not, and a
// kvd forked later would inherit them: a child holding a copy of a proxied connection keeps it
// open when the proxy resets it, so no RST reaches the edge, which then hangs on a dead
// connection until gRPC keepalive gives up (15 s).
void MarkDescriptorsCloseOnExec();

class FaultCluster {
 public:
  explicit FaultCluster(uint64_t seed) : seed_(seed) {}
  // Kills every process still running, then stops the proxies.
  ~FaultCluster();
  FaultCluster(const FaultCluster&) = delete;
  FaultCluster& operator=(const FaultCluster&) = delete;

  // Starts the central node (named "central"); `extra` flags are appended.
  absl::Status StartCentral(std::vector<std::string> extra = {});
  // Starts an edge ("full" or "cache") below `upstream`, through a new FaultProxy.
  absl::Status StartEdge(const std::string& name, const std::string& upstream,
                         const std::string& mode, std::vector<std::string> extra = {});
  // (Re)starts one node's process. Always use this rather than KvdProcess::Start: it first marks
  // every descriptor of this process close-on-exec (see MarkDescriptorsCloseOnExec).
  absl::Status Start(ClusterNode& node);
  // Waits until every running edge reports ready (in sync within its bound).
  absl::Status WaitAllReady(absl::Duration timeout = absl::Seconds(30));

  ClusterNode& node(const std::string& name);
  ClusterNode& central() { return node("central"); }
  std::vector<ClusterNode*> nodes();
  std::vector<ClusterNode*> edges();

  // Removes every network fault and starts every node that is down (upstreams first).
  absl::Status HealAll();

  // Copies each node's log file into `dir`.
  void SaveLogs(const std::string& dir) const;
  // Prints the last `lines` lines of each node's log to stderr.
  void PrintLogTails(size_t lines) const;

 private:
  const uint64_t seed_;
  TempDir dir_;
  std::vector<std::unique_ptr<ClusterNode>> nodes_;
};

}  // namespace kv::testing

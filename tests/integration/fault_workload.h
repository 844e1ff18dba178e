#pragma once
// Client threads for fault scenarios: writers and readers that call real nodes over gRPC and
// record every call, with its options, times and answer, into a checker History.
//
// Writers put (unique values: some with a TTL, some large enough to travel as invalidations,
// some conditional), commit puts of several keys at once (KV.Commit), and delete, at the central
// node or through an edge; they also read at random nodes. Readers read one node each with a mix of
// options: the node's default bound, explicit bounds, allow_stale, strong, and BatchGet. Session
// clients carry the highest version they have seen (their writes' and reads' as_of) into every read
// as min_version, like the client library's sessions; the others do not, and are checked without
// session guarantees.

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "tests/checker/history.h"

namespace kv::testing {

// A node clients can call.
struct Target {
  std::string name;
  std::string address;
  bool central = false;
  // The node's --max-staleness in microseconds (what a bounded read without its own bound gets);
  // -1 when the node has none (the central node: its reads are held to their reported 0).
  int64_t default_bound_micros = -1;
};

struct WorkloadOptions {
  // Writing clients (with sessions). The first calls only the central node; the others write
  // there 75% of the time, else through a random edge, and read at random nodes.
  int writers = 3;
  // Reading clients per edge: the first has a session, the second not.
  int readers_per_edge = 2;
  // Readers at the central node (with sessions).
  int central_readers = 1;
  // Keys "k/00".. ; small, so keys are overwritten and read while they change.
  int keys = 40;
  absl::Duration write_deadline = absl::Seconds(2);
  absl::Duration read_deadline = absl::Milliseconds(1500);
  // Pause after each call, uniform in [0, max_think]: keeps the 2-core machine responsive.
  absl::Duration max_think = absl::Milliseconds(6);
};

struct WorkloadCounts {
  uint64_t writes_ok = 0;
  uint64_t writes_failed = 0;
  uint64_t writes_unknown = 0;
  uint64_t reads_ok = 0;
  uint64_t reads_not_ok = 0;
};

class Workload {
 public:
  // `targets[0]` must be the central node. `history` must outlive the workload.
  Workload(std::vector<Target> targets, checker::History* history, WorkloadOptions options,
           uint64_t seed);
  // Stops and joins the clients.
  ~Workload();
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  void Start();
  // Asks every client to stop and joins them; every call has a deadline, so this is bounded.
  void Stop();

  // Client ids that carry a session (their reads are held to the session guarantees).
  const std::set<uint64_t>& session_clients() const { return session_clients_; }
  WorkloadCounts counts() const;
  std::vector<std::string> keys() const;

  class Client;

 private:
  const std::vector<Target> targets_;
  checker::History* const history_;
  const WorkloadOptions options_;
  const uint64_t seed_;
  std::set<uint64_t> session_clients_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

// Key number `i` of the workload's key space.
std::string WorkloadKey(int i);

}  // namespace kv::testing

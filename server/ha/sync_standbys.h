#pragma once
// The leader's in-sync standbys (docs/ha.md, "Semi-synchronous commits"): the standbys every
// batch must reach before the leader writes it and answers its writers. The set is recorded in
// etcd, and only its members may be elected after the leader, so whichever is elected holds
// every acknowledged write.
//
// The order of the two records is what makes that true. A standby joins only once it holds
// everything proposed so far: it is first waited for, then written to etcd (until then it
// cannot be elected, and from then on it has every acknowledged write). A standby that fell
// behind (--ha-standby-timeout) or went away leaves the set in etcd first, and is no longer
// waited for only after etcd has it: an acknowledged write is never missing from a member.
// With fewer than `required` members, writes are refused before anything is proposed.
//
// Threading: OnAck from gRPC threads (the publisher's standby observer); Ready and WaitFor from
// the commit thread; members from any thread. Changes of the set (each an etcd write) happen on
// this object's own thread. Ownership: `persist` is the controller's and outlives this.

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "replication/publisher.h"

namespace kv::server {

struct SyncStandbysOptions {
  // --sync-standbys: members needed before a write is accepted.
  int required = 1;
  // A member that has not acknowledged a waited-for batch for this long leaves the set.
  absl::Duration lag_timeout = absl::Seconds(1);
  // Records the set in etcd (guarded by the leadership); an error keeps the old set in force.
  std::function<absl::Status(const std::vector<std::string>&)> persist;
};

class SyncStandbys {
 public:
  // `recorded`: the standbys etcd's set holds when this node became the leader; `waited`: those
  // of them to wait for (the previous leader, which must catch up as a standby first, is left
  // out). Until etcd holds `waited`, no batch is acknowledged: every recorded member must be
  // waited for.
  SyncStandbys(Clock* clock, SyncStandbysOptions options, std::vector<std::string> recorded,
               std::vector<std::string> waited, uint64_t head);
  ~SyncStandbys();

  void OnAck(const replication::StandbyAck& ack);
  // OK when a batch may be proposed; UNAVAILABLE naming what is missing otherwise.
  absl::Status Ready() const;
  // The batch ending at `version` has been proposed; returns once every member holds it (OK),
  // or `fenced` says this node may no longer lead (ABORTED).
  absl::Status WaitFor(uint64_t version, const std::function<bool()>& fenced);
  std::vector<std::string> members() const;

 private:
  // Its current stream: acknowledgements count per stream (a standby that reconnected, perhaps
  // after a snapshot wiped it, must prove again what it holds).
  struct Standby {
    uint64_t stream = 0;
    uint64_t acked = 0;
    bool connected = false;
  };
  void Run();

  Clock* const clock_;
  const SyncStandbysOptions options_;
  const int64_t started_micros_;

  mutable absl::Mutex mu_;
  // Waited for: the recorded members, plus any joining member not yet recorded.
  std::set<std::string> waited_ ABSL_GUARDED_BY(mu_);
  // As etcd holds it.
  std::set<std::string> recorded_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Standby> standbys_ ABSL_GUARDED_BY(mu_);
  uint64_t proposed_ ABSL_GUARDED_BY(mu_) = 0;
  // The batch being waited for and since when (0 = none).
  uint64_t waiting_for_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t waiting_since_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kv::server

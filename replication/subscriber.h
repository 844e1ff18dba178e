#pragma once
// The downstream side of the replication stream: an explicit state machine on its own thread.
//
//   waiting -> [snapshotting] -> streaming -> backoff -> (waiting ...)
//
// It bootstraps a full edge with a Snapshot when its data cannot resume, subscribes from the
// applied version + 1, applies each batch only if it continues the applied version exactly (a
// gap or a reordering ends the stream and resubscribes; nothing out of order is ever applied),
// pings every --ping-interval and feeds the answers to the FreshnessTracker. A RESET makes a
// full edge snapshot again and a cache edge restart from the upstream's head, unless the upstream
// serves another cluster than the local data's (refused, see cluster_change.h). Reconnects use
// jittered exponential backoff, so an upstream that is down for minutes needs no operator.
//
// Threading: Start and Stop are called once each by the owner; state, connected, FillStatus and
// the counters may be called from any thread. The applier, snapshot target or head follower is
// called only from the subscriber's thread (and a short-lived pinger thread reads
// applied_version). Ownership: the stub, applier, freshness tracker and clock belong to the
// edge node and outlive the subscriber.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "kvstore/v1/admin.pb.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "replication/change_applier.h"
#include "replication/freshness.h"

namespace kv::replication {

struct SubscriberOptions {
  // Sent in the hello, shown in the upstream's Status.
  std::string node_id;
  std::string advertised_address;
  // How often to ping the upstream (freshness resolution).
  absl::Duration ping_interval = absl::Milliseconds(50);
  // Reconnect backoff: doubles from initial to max, with +-50% jitter.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Longest time a snapshot may take.
  absl::Duration snapshot_timeout = absl::Minutes(30);
  // Called after every applied batch (outside any subscriber lock), e.g. to wake waiters.
  std::function<void(uint64_t applied)> on_applied;
  // Called with the upstream's chain (its node id first, the central node's last) whenever the
  // subscriber learns it: from a stream start or a refusal. May be empty.
  std::function<void(const std::vector<std::string>& upstream_chain)> on_chain;
  // Whether a RESET or snapshot from another cluster may replace the local data of a cluster
  // (replication/cluster_change.h); off, such an upstream is refused and the data kept.
  bool allow_cluster_change = false;
  // A standby central node (docs/ha.md): says so in its hello (the leader then sends it
  // proposed changes and the committed version), and acknowledges every applied batch at once
  // instead of with the next ping, since the leader waits for it.
  bool standby = false;
  // This node's own `authorization` value for Subscribe and Snapshot ("Bearer ..."), asked for
  // at every connection; empty or returning "" = none.
  std::function<std::string()> authorization;
};

class Subscriber {
 public:
  enum class State { kWaiting, kSnapshotting, kStreaming, kBackoff, kStopped };

  // A downstream holding every key (a full edge, a relay): bootstraps into `snapshots`.
  Subscriber(kvstore::v1::Replication::Stub* upstream, std::string upstream_address,
             ChangeApplier* applier, SnapshotTarget* snapshots, FreshnessTracker* freshness,
             Clock* clock, SubscriberOptions options);
  // A downstream holding only some keys (a cache edge): starts at the head through `head`.
  Subscriber(kvstore::v1::Replication::Stub* upstream, std::string upstream_address,
             ChangeApplier* applier, HeadFollower* head, FreshnessTracker* freshness, Clock* clock,
             SubscriberOptions options);
  ~Subscriber();

  void Start();
  void Stop();

  State state() const;
  bool connected() const;
  void FillStatus(kvstore::v1::ReplicationStatus* status) const;
  // Why the last connection ended ("" while streaming or before the first attempt ended).
  std::string last_error() const;
  uint64_t snapshots() const { return snapshots_.load(); }
  uint64_t resumes() const { return resumes_.load(); }
  uint64_t resets() const { return resets_.load(); }
  uint64_t gaps() const { return gaps_.load(); }

  static const char* StateName(State state);

 private:
  void Run();
  // One connection: snapshot if needed, then stream until it ends. Returns why it ended and
  // sets *progressed when anything was applied.
  absl::Status RunOnce(bool* progressed);
  absl::Status TakeSnapshot();
  // `after_snapshot`: the data was just bootstrapped, so this stream does not count as a resume.
  absl::Status Stream(bool* progressed, bool after_snapshot);
  void SetState(State state);
  void AddAuthorization(grpc::ClientContext* ctx) const;
  // A refused call's trailing "kv-chain": reports it, and turns `status` into the cycle error
  // when this node is in it.
  absl::Status LearnChainFromRefusal(const grpc::ClientContext& ctx, absl::Status status);
  void LearnChain(const std::vector<std::string>& upstream_chain);
  void SetError(const absl::Status& status);
  // Sleeps up to `d` unless stopped first; returns false when stopped.
  bool SleepUnlessStopped(absl::Duration d);

  Subscriber(kvstore::v1::Replication::Stub* upstream, std::string upstream_address,
             ChangeApplier* applier, SnapshotTarget* snapshots, HeadFollower* head,
             FreshnessTracker* freshness, Clock* clock, SubscriberOptions options);

  // Constant after construction; the pointees outlive the subscriber. Exactly one of
  // snapshot_target_ and head_ is set.
  kvstore::v1::Replication::Stub* const upstream_;
  const std::string upstream_address_;
  ChangeApplier* const applier_;
  SnapshotTarget* const snapshot_target_;
  HeadFollower* const head_;
  FreshnessTracker* const freshness_;
  Clock* const clock_;
  const SubscriberOptions options_;

  // Protected by mu_: the state machine's position and what the next connection must do.
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kWaiting;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;  // cancelled by Stop()
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  bool force_bootstrap_ ABSL_GUARDED_BY(mu_) = false;
  bool from_head_ ABSL_GUARDED_BY(mu_) = false;

  // Counters and flags, read by Status from any thread.
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> snapshots_{0};
  std::atomic<uint64_t> resumes_{0};
  std::atomic<uint64_t> resets_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> gaps_{0};
  std::atomic<uint64_t> changes_applied_{0};
  std::atomic<uint64_t> batches_applied_{0};
  // Used only by the subscriber's own thread.
  std::mt19937_64 rng_;
  std::thread thread_;
};

}  // namespace kv::replication

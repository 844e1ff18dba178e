#pragma once
// One central node's part in a cluster of central nodes with standbys (docs/ha.md): it finds
// the leader in etcd, follows it as a standby, campaigns when nobody leads, leads when elected,
// and steps down when its lease can no longer be trusted.
//
//   joining -> standby (following the leader) -> [campaign] -> leader -> (lease lost) -> standby
//
// As a standby it runs a Subscriber (standby mode) into a StandbyApplier: proposed changes are
// held durably and acknowledged, committed ones applied to the node's store, publisher and
// watchers. When the leader's key disappears it stops following, validates what it holds
// against etcd's epochs, posts its held version as a candidate, and the in-sync candidate
// holding the most wins through one etcd transaction that creates the leader key and the new
// epoch. As the leader it commits what it held, opens the write pipeline, and replicates every
// batch to its in-sync standbys (SyncStandbys) before writing it; its LeaderLease is the fence.
//
// Threading: Start and Stop are called once each by kvd's main thread; Replicate and
// MayAcknowledge run on the node's commit thread; the accessors from any thread. The controller
// does its work on its own thread. Ownership: owns its etcd client, lease, standby machinery
// and subscriber; the CentralNode outlives it (Stop before the node stops).

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "ha/etcd_client.h"
#include "ha/leader_lease.h"
#include "replication/freshness.h"
#include "replication/subscriber.h"
#include "server/central/central_node.h"
#include "server/edge/full_edge_applier.h"
#include "server/edge/upstream_client.h"
#include "server/ha/etcd_layout.h"
#include "server/ha/standby_applier.h"
#include "server/ha/sync_standbys.h"

namespace kv::server {

struct HaOptions {
  // --ha-etcd: etcd's client endpoints (host:port).
  std::vector<std::string> etcd_endpoints;
  // --ha-cluster: the name the central nodes of one cluster share in etcd.
  std::string cluster;
  // This node's id and the gRPC address the others and the edges reach it at (--advertise).
  std::string node_id;
  std::string advertise;
  // --sync-standbys: standbys that must hold a batch before the leader acknowledges it.
  int sync_standbys = 1;
  // --ha-lease-ttl: the leader's etcd lease.
  absl::Duration lease_ttl = absl::Seconds(2);
  // --ha-standby-timeout: a standby this far behind (or gone this long) leaves the in-sync set.
  absl::Duration standby_timeout = absl::Seconds(1);
  // How often etcd's leader key is read.
  absl::Duration poll_interval = absl::Milliseconds(100);
  // How long a candidate waits for the others to post their versions.
  absl::Duration settle = absl::Milliseconds(300);
  // How this node connects to the leader (security, its own token); the address is the leader's.
  UpstreamOptions upstream;
};

class HaController {
 public:
  enum class Role { kJoining, kStandby, kLeader };

  // Connects to etcd (an unreachable etcd is not an error: calls wait for it).
  static absl::StatusOr<std::unique_ptr<HaController>> Create(HaOptions options, Clock* clock);
  ~HaController();

  // The leader's hooks of the write pipeline (CentralOptions::replicate, may_acknowledge) and the
  // staleness a standby reports downstream; bound before the node opens.
  absl::Status Replicate(const CommittedChanges& changes);
  absl::Status MayAcknowledge() const;
  // The write pipeline could not write a batch its standbys hold (`why`): step down.
  void AbandonLeadership(const absl::Status& why);
  // This node leads and its lease can be trusted now (strong reads may be answered here).
  bool LeaderTrusted() const;
  int64_t StalenessMicros() const;

  // `bound_address`: the gRPC address the node serves on, advertised when HaOptions::advertise
  // is empty.
  void Start(CentralNode* node, const std::string& bound_address);
  // Steps down (revoking the lease, so a standby takes over at once) and stops following.
  void Stop();

  Role role() const;
  static const char* RoleName(Role role);
  uint64_t epoch() const;
  // The leader's gRPC address ("" while none is known).
  std::string leader_address() const;
  std::vector<std::string> in_sync() const;
  // A connection to the leader for forwarded calls; null when this node leads or none is known.
  std::shared_ptr<UpstreamClient> leader() const;
  const HaOptions& options() const { return options_; }

 private:
  HaController(HaOptions options, Clock* clock, std::unique_ptr<ha::EtcdClient> etcd);
  void Run();
  // Starts following `leader` unless already following it.
  void Follow(const LeaderRecord& leader);
  void StopFollowing();
  // Returns true when elected (lease_ then holds the leadership, `won` the new record).
  bool Campaign(LeaderRecord* won);
  // Leads until the lease is lost or Stop; then steps down.
  void Lead(const LeaderRecord& me);
  absl::StatusOr<EpochStarts> ReadEpochs();
  absl::Status PersistInSync(int64_t leader_create_revision, const std::vector<std::string>& ids);
  bool Stopping() const;
  void SleepUnlessStopped(absl::Duration d);

  HaOptions options_;  // advertise is filled in by Start, then constant
  Clock* const clock_;
  const std::unique_ptr<ha::EtcdClient> etcd_;
  const EtcdLayout layout_;

  // Set by Start; used by the controller's thread (and Replicate reads node_'s publisher).
  CentralNode* node_ = nullptr;
  std::unique_ptr<FullEdgeApplier> inner_applier_;
  std::unique_ptr<StandbyApplier> standby_;
  replication::FreshnessTracker freshness_;
  // The controller's thread only.
  std::unique_ptr<replication::Subscriber> subscriber_;
  LeaderRecord following_;
  // The last leader this node followed: when this node is elected after it, it does not wait
  // for it (it must come back as a standby and catch up first).
  std::string previous_leader_;

  mutable absl::Mutex mu_;
  // Read lock-free (the publisher asks StalenessMicros under its own lock, and Replicate
  // proposes to the publisher: a lock here on both paths would deadlock); written under mu_.
  std::atomic<Role> role_{Role::kJoining};
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  std::string leader_address_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<UpstreamClient> leader_client_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<ha::LeaderLease> lease_ ABSL_GUARDED_BY(mu_);
  // The lease while role_ is kLeader (set before the role, cleared after it), read lock-free by
  // StalenessMicros: a leader whose trust ran out before it noticed is not fresh.
  std::atomic<std::shared_ptr<ha::LeaderLease>> leading_lease_;
  // node_'s store, for StalenessMicros on other threads (set once by Start).
  std::atomic<const VersionedStore*> store_view_{nullptr};
  std::shared_ptr<SyncStandbys> sync_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // When this node last stopped leading (monotonic micros; 0 = never led): until a standby
  // stream proves better, its data is as fresh as that moment.
  std::atomic<int64_t> led_until_micros_{0};
  // Set when a batch the standbys hold could not be written here: this node must not lead on
  // (the next batch would reuse those versions); the controller steps down.
  std::atomic<bool> must_step_down_{false};
  std::thread thread_;
};

}  // namespace kv::server

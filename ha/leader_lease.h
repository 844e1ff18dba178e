#pragma once
// A leader's etcd lease, kept alive on its own thread, and the fence that goes with it: how long
// the leader may still trust that it leads (docs/ha.md, "Fencing").
//
// etcd expires a lease no sooner than TTL after it handled the last keep-alive, and it handled
// that keep-alive after this node sent it. So a node that sent a keep-alive at local time t_s and
// heard back TTL may trust its lease until t_s + TTL, less a margin for clock-rate differences
// between the two machines and for the time the node needs to stop acknowledging (the caller's
// fence check and the write in flight). A leader acknowledges a write only while Trusted(); when
// keep-alives fail, trust runs out before etcd can give the lease (and the leadership) to
// another node, so two leaders never both acknowledge. Trust that has lapsed is not regained: the
// lease is given up (on_lost) and the owner must campaign again with a new one.
//
// Threading: Start and Stop are called once each by the owner; Trusted, TrustedUntil and
// lease_id from any thread (lock-free). on_lost runs on the lease's thread, once, when etcd says
// the lease is gone or trust has run out. Ownership: the EtcdClient outlives this.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "ha/etcd_client.h"

namespace kv::ha {

struct LeaderLeaseOptions {
  // The lease's TTL at etcd (--ha-lease-ttl).
  absl::Duration ttl = absl::Seconds(2);
  // Keep-alives are sent every ttl / keepalives_per_ttl.
  int keepalives_per_ttl = 4;
  // Trust ends this much before the earliest moment etcd may expire the lease.
  absl::Duration safety_margin = absl::Milliseconds(300);
  // Called once when the lease is lost (expired at etcd, or trust ran out).
  std::function<void(const std::string& why)> on_lost;
};

class LeaderLease {
 public:
  LeaderLease(EtcdClient* etcd, Clock* clock, LeaderLeaseOptions options);
  ~LeaderLease();

  // Grants a lease and starts keeping it alive; trust begins with the grant.
  absl::Status Start();
  // Stops the keep-alives and revokes the lease (a clean handover: standbys need not wait for
  // the TTL). Trust ends at once.
  void Stop(bool revoke = true);

  int64_t lease_id() const { return lease_.load(std::memory_order_acquire); }
  // Whether this node may still act as the leader (acknowledge writes) now.
  bool Trusted() const;
  // Monotonic microseconds (Clock::MonotonicMicros) until which it may, or, once trust has
  // ended (run out, lost or stopped), when it ended; 0 before Start. A deposed leader's data is
  // as fresh as this moment. While Stop runs it may still name a time in the future (a last
  // keep-alive can extend it until the thread is joined): an owner stops reading it first.
  int64_t TrustedUntilMicros() const { return trusted_until_.load(std::memory_order_acquire); }

 private:
  void Run();
  // Extends trust to sent_at + ttl - margin (never shortens it); returns the new end.
  void Extend(int64_t sent_at_micros, absl::Duration ttl);
  // Trust ends by `ended_by` at the latest (the lease's thread only).
  void Lose(const std::string& why, int64_t ended_by);
  // Trust ends no later than `micros` (never raises it).
  void EndBy(int64_t micros);

  EtcdClient* const etcd_;
  Clock* const clock_;
  const LeaderLeaseOptions options_;

  std::atomic<int64_t> lease_{0};
  std::atomic<int64_t> trusted_until_{0};
  // Set by Stop and Lose: trust never comes back, whatever a late keep-alive answer says.
  std::atomic<bool> ended_{false};
  std::atomic<bool> lost_{false};
  // When the last keep-alive that etcd answered was sent (the grant at first): the lease existed
  // then, so a lease found gone (revoked) ended no earlier. The lease's thread only.
  int64_t last_kept_sent_ = 0;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kv::ha

#include "ha/leader_lease.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace kv::ha {

LeaderLease::LeaderLease(EtcdClient* etcd, Clock* clock, LeaderLeaseOptions options)
    : etcd_(etcd), clock_(clock), options_(std::move(options)) {}

LeaderLease::~LeaderLease() { Stop(/*revoke=*/false); }

absl::Status LeaderLease::Start() {
  const int64_t sent = clock_->MonotonicMicros();
  auto lease = etcd_->GrantLease(options_.ttl);
  if (!lease.ok()) return lease.status();
  lease_.store(*lease, std::memory_order_release);
  last_kept_sent_ = sent;
  Extend(sent, options_.ttl);
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void LeaderLease::Stop(bool revoke) {
  {
    absl::MutexLock l(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  const int64_t stopped = clock_->MonotonicMicros();
  ended_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
  EndBy(stopped);  // after the join: no keep-alive can extend it any more
  if (revoke && lease_id() != 0) {
    if (auto s = etcd_->RevokeLease(lease_id()); !s.ok()) {
      KV_LOG(WARN) << "revoking the leader lease: " << s << " (it expires by itself)";
    }
  }
}

bool LeaderLease::Trusted() const {
  return !ended_.load(std::memory_order_acquire) &&
         clock_->MonotonicMicros() < trusted_until_.load(std::memory_order_acquire);
}

void LeaderLease::Extend(int64_t sent_at_micros, absl::Duration ttl) {
  const int64_t until = sent_at_micros + absl::ToInt64Microseconds(ttl - options_.safety_margin);
  int64_t current = trusted_until_.load(std::memory_order_acquire);
  while (current < until &&
         !trusted_until_.compare_exchange_weak(current, until, std::memory_order_acq_rel)) {
  }
}

void LeaderLease::EndBy(int64_t micros) {
  int64_t current = trusted_until_.load(std::memory_order_acquire);
  while (current > micros &&
         !trusted_until_.compare_exchange_weak(current, micros, std::memory_order_acq_rel)) {
  }
}

void LeaderLease::Lose(const std::string& why, int64_t ended_by) {
  // On the lease's own thread: no keep-alive extends trust after this. The end is moved first,
  // so no reader sees trust over (ended_) with an end still in the future.
  EndBy(ended_by);
  ended_.store(true, std::memory_order_release);
  if (lost_.exchange(true)) return;
  KV_LOG(ERROR) << "leader lease " << lease_id() << " lost: " << why;
  if (options_.on_lost) options_.on_lost(why);
}

void LeaderLease::Run() {
  const absl::Duration interval = options_.ttl / std::max(1, options_.keepalives_per_ttl);
  while (true) {
    {
      absl::MutexLock l(&mu_);
      auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopped), interval)) return;
    }
    const int64_t sent = clock_->MonotonicMicros();
    auto ttl = etcd_->KeepAliveOnce(lease_id());
    {
      absl::MutexLock l(&mu_);
      if (stop_) return;  // Stop ended trust itself; nothing was lost
    }
    // Once trust has lapsed the lease is given up, even if etcd answers late: the owner has
    // already stopped acting as the leader and must campaign again.
    if (!Trusted()) {
      return Lose(absl::StrCat("no keep-alive was answered before the lease could expire (",
                               ttl.ok() ? "answered too late" : ttl.status().message(), ")"),
                  clock_->MonotonicMicros());
    }
    if (ttl.ok()) {
      last_kept_sent_ = sent;
      Extend(sent, *ttl);
      continue;
    }
    // Gone at etcd (revoked, say by a restarted process with this node id): it may have gone
    // any time after the last keep-alive etcd answered, so trust ends there.
    if (absl::IsNotFound(ttl.status())) {
      return Lose(std::string(ttl.status().message()), last_kept_sent_);
    }
    // etcd unreachable: keep trying while trust lasts; it runs out by itself.
    KV_LOG(WARN) << "leader lease keep-alive failed: " << ttl.status();
  }
}

}  // namespace kv::ha

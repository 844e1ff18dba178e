#include "server/edge/version_waiters.h"

#include <algorithm>
#include <vector>

namespace kv::server {

VersionWaiters::VersionWaiters(Clock* clock, uint64_t applied) : clock_(clock), applied_(applied) {
  timer_ = std::thread([this] { TimerLoop(); });
}

VersionWaiters::~VersionWaiters() { Stop(); }

uint64_t VersionWaiters::applied() const {
  absl::MutexLock l(&mu_);
  return applied_;
}

size_t VersionWaiters::waiting() const {
  absl::MutexLock l(&mu_);
  return waiters_.size();
}

void VersionWaiters::Wait(uint64_t version, absl::Time deadline, Callback callback) {
  {
    absl::MutexLock l(&mu_);
    if (version > applied_ && !stop_ && deadline > Now()) {
      uint64_t id = next_id_++;
      waiters_.emplace(id, Waiter{version, deadline, std::move(callback)});
      by_version_.emplace(version, id);
      by_deadline_.emplace(deadline, id);
      return;
    }
  }
  bool reached = version <= applied();
  std::move(callback)(reached);
}

void VersionWaiters::Advance(uint64_t applied) {
  std::vector<Callback> ready;
  {
    absl::MutexLock l(&mu_);
    if (applied <= applied_) return;
    applied_ = applied;
    auto end = by_version_.upper_bound(applied);
    for (auto it = by_version_.begin(); it != end; ++it) {
      auto w = waiters_.find(it->second);
      auto range = by_deadline_.equal_range(w->second.deadline);
      for (auto d = range.first; d != range.second; ++d) {
        if (d->second == it->second) {
          by_deadline_.erase(d);
          break;
        }
      }
      ready.push_back(std::move(w->second.callback));
      waiters_.erase(w);
    }
    by_version_.erase(by_version_.begin(), end);
  }
  for (auto& cb : ready) std::move(cb)(true);
}

void VersionWaiters::Stop() {
  std::vector<Callback> all;
  {
    absl::MutexLock l(&mu_);
    if (stop_) return;
    stop_ = true;
    for (auto& [id, w] : waiters_) all.push_back(std::move(w.callback));
    waiters_.clear();
    by_version_.clear();
    by_deadline_.clear();
  }
  if (timer_.joinable()) timer_.join();
  for (auto& cb : all) std::move(cb)(false);
}

void VersionWaiters::TimerLoop() {
  for (;;) {
    std::vector<Callback> expired;
    {
      absl::MutexLock l(&mu_);
      const absl::Time before = Now();
      absl::Time next =
          by_deadline_.empty() ? before + absl::Milliseconds(100) : by_deadline_.begin()->first;
      // Wake at the earliest deadline, or when a new earlier waiter arrives or we stop; at
      // least every 100 ms, since the clock may be one that tests move by hand.
      absl::Time first_seen = next;
      auto changed = [this, first_seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || (!by_deadline_.empty() && by_deadline_.begin()->first < first_seen);
      };
      mu_.AwaitWithTimeout(absl::Condition(&changed),
                           std::min(next - before, absl::Milliseconds(100)));
      if (stop_) return;
      absl::Time now = Now();
      while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
        uint64_t id = by_deadline_.begin()->second;
        by_deadline_.erase(by_deadline_.begin());
        auto w = waiters_.find(id);
        auto range = by_version_.equal_range(w->second.version);
        for (auto v = range.first; v != range.second; ++v) {
          if (v->second == id) {
            by_version_.erase(v);
            break;
          }
        }
        expired.push_back(std::move(w->second.callback));
        waiters_.erase(w);
      }
    }
    for (auto& cb : expired) std::move(cb)(false);
  }
}

}  // namespace kv::server

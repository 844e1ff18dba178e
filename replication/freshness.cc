#include "replication/freshness.h"

#include <algorithm>

namespace kv::replication {

namespace {
// A bound on answers waiting for the stream to catch up; older ones are superseded by newer.
constexpr size_t kMaxPending = 1024;
}  // namespace

FreshnessTracker::FreshnessTracker(Clock* clock) : clock_(clock) {}

void FreshnessTracker::Advance(int64_t fresh_as_of) {
  // Writers hold mu_, so a load then a store cannot lose a larger value.
  if (fresh_as_of > fresh_as_of_.load(std::memory_order_relaxed)) {
    fresh_as_of_.store(fresh_as_of, std::memory_order_release);
  }
}

void FreshnessTracker::OnPong(int64_t t0_micros, uint64_t head_version,
                              int64_t upstream_staleness_micros, uint64_t applied) {
  if (upstream_staleness_micros < 0) return;             // malformed
  if (upstream_staleness_micros == kNeverFresh) return;  // the upstream knows nothing yet
  // The echo of a ping not sent yet is malformed too: believing it would make this node
  // fresh as of a time in its future.
  if (t0_micros > clock_->MonotonicMicros()) return;
  int64_t fresh_as_of = 0;
  if (__builtin_sub_overflow(t0_micros, upstream_staleness_micros, &fresh_as_of)) return;
  absl::MutexLock l(&mu_);
  if (applied >= head_version) {
    Advance(fresh_as_of);
    return;
  }
  // Not applied yet: keep it until the stream brings `head_version`. An earlier pending answer
  // that needs as much or more and promises no more freshness is superseded by this one.
  while (!pending_.empty() && pending_.back().head_version >= head_version &&
         pending_.back().fresh_as_of <= fresh_as_of) {
    pending_.pop_back();
  }
  pending_.push_back(Pending{head_version, fresh_as_of});
  if (pending_.size() > kMaxPending) pending_.pop_front();
}

void FreshnessTracker::OnApplied(uint64_t applied) {
  absl::MutexLock l(&mu_);
  while (!pending_.empty() && pending_.front().head_version <= applied) {
    Advance(pending_.front().fresh_as_of);
    pending_.pop_front();
  }
}

void FreshnessTracker::DropPending() {
  absl::MutexLock l(&mu_);
  pending_.clear();
}

int64_t FreshnessTracker::StalenessMicros() const {
  int64_t now = clock_->MonotonicMicros();
  const int64_t fresh_as_of = fresh_as_of_.load(std::memory_order_acquire);
  if (fresh_as_of == kNever) return kNeverFresh;
  int64_t staleness = 0;
  // Saturates: fresh-as-of from a nonsense t0 far in the past must not wrap around to "fresh".
  if (__builtin_sub_overflow(now, fresh_as_of, &staleness)) return kNeverFresh;
  return std::max<int64_t>(0, staleness);
}

int64_t FreshnessTracker::FreshAsOfMicros() const {
  return fresh_as_of_.load(std::memory_order_acquire);  // kNever is INT64_MIN
}

void FreshnessTracker::Forget() {
  absl::MutexLock l(&mu_);
  fresh_as_of_.store(kNever, std::memory_order_release);
  pending_.clear();
}

}  // namespace kv::replication

#pragma once
// Staleness from ping round trips (docs/design.md, "Freshness and consistency").
//
// The edge sends a ping stamped with its own monotonic time t0. The upstream answers, after
// every change it had queued when the ping arrived, with its head version H and its own
// staleness s_up. Once the edge has applied H it holds every write committed at the central
// node before its local time t0 - s_up, so fresh_as_of = max(fresh_as_of, t0 - s_up) and
// staleness = now - fresh_as_of. No clocks are compared across machines, and the delay of the
// answer in flight only makes the estimate larger, never smaller.
//
// Threading: thread-safe. OnPong, OnApplied, DropPending and Forget serialise on a mutex;
// StalenessMicros and FreshAsOfMicros read one atomic, so the read path takes no lock.

#include <atomic>
#include <cstdint>
#include <deque>
#include <limits>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"

namespace kv::replication {

class FreshnessTracker {
 public:
  static constexpr int64_t kNeverFresh = std::numeric_limits<int64_t>::max();

  explicit FreshnessTracker(Clock* clock);

  // The t0 to put in the next ping.
  int64_t PingTime() const { return clock_->MonotonicMicros(); }

  // An answer to a ping. `applied` is this node's applied version when the answer is handled.
  void OnPong(int64_t t0_micros, uint64_t head_version, int64_t upstream_staleness_micros,
              uint64_t applied);
  // This node's applied version advanced (answers waiting for it may now count).
  void OnApplied(uint64_t applied);
  // Forgets answers not yet covered (their versions belong to another history after a RESET).
  void DropPending();
  // The local data was wiped (a snapshot replaces it): nothing proven so far holds for it.
  void Forget();

  // now - fresh_as_of, or kNeverFresh before the first covered answer.
  int64_t StalenessMicros() const;
  // Local monotonic time before which every central write is held; INT64_MIN if never.
  int64_t FreshAsOfMicros() const;

 private:
  struct Pending {
    uint64_t head_version;
    int64_t fresh_as_of;
  };
  void Advance(int64_t fresh_as_of) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // fresh_as_of_ before the first covered answer (a t0 - s_up can never be this small).
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::min();

  Clock* const clock_;
  // Written under mu_ (only ever raised, or reset by Forget); read without it, so StalenessMicros
  // takes no lock shared by every reader.
  std::atomic<int64_t> fresh_as_of_{kNever};
  mutable absl::Mutex mu_;
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);  // ascending head_version
};

}  // namespace kv::replication

#pragma once
// Reads that need a version the edge has not applied yet (min_version) wait here, briefly, for
// the stream. Each waiter is called exactly once: with true as soon as the version is applied,
// or with false at its deadline.
//
// Threading: every method may be called from any thread. Callbacks run outside the lock, on the
// thread that called Wait (already reached or already past the deadline), Advance (reached) or
// Stop, or on the timer thread (deadline passed). Deadlines are judged by the injected Clock's
// wall time; the timer re-checks at least every 100 ms, so a manual clock in tests works too.

#include <cstdint>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace kv::server {

class VersionWaiters {
 public:
  using Callback = absl::AnyInvocable<void(bool reached) &&>;

  // `clock` must outlive the waiters.
  explicit VersionWaiters(Clock* clock, uint64_t applied = 0);
  ~VersionWaiters();

  // Calls `callback(true)` at once if `version` is already applied.
  void Wait(uint64_t version, absl::Time deadline, Callback callback);
  // The applied version moved to `applied`: release every waiter it satisfies.
  void Advance(uint64_t applied);
  // Releases every waiter with false and stops the timer (shutdown).
  void Stop();

  uint64_t applied() const;
  size_t waiting() const;

 private:
  struct Waiter {
    uint64_t version;
    absl::Time deadline;
    Callback callback;
  };
  void TimerLoop();
  absl::Time Now() const { return absl::FromUnixMicros(clock_->UnixMicros()); }

  Clock* const clock_;
  mutable absl::Mutex mu_;
  uint64_t applied_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  // Indexed both ways: by version (to release) and by deadline (to time out).
  std::multimap<uint64_t, uint64_t> by_version_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, uint64_t> by_deadline_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  std::thread timer_;
};

}  // namespace kv::server

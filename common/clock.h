#pragma once
// Clocks, behind an interface so tests can drive time by hand.

#include <chrono>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace kv {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time in microseconds since an arbitrary origin. Never goes back; staleness is
  // computed from this clock only.
  virtual int64_t MonotonicMicros() = 0;
  // Wall-clock Unix time in seconds, for expiration.
  virtual int64_t UnixSeconds() = 0;
  // Wall-clock Unix time in microseconds (TTLs are converted with sub-second precision).
  virtual int64_t UnixMicros() { return UnixSeconds() * 1'000'000; }

  // The process-wide real clock.
  static Clock* Real();
};

class RealClock final : public Clock {
 public:
  int64_t MonotonicMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t UnixSeconds() override { return absl::ToUnixSeconds(absl::Now()); }
  int64_t UnixMicros() override { return absl::ToUnixMicros(absl::Now()); }
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t monotonic_micros = 1'000'000, int64_t unix_seconds = 1'700'000'000)
      : micros_(monotonic_micros), unix_(unix_seconds) {}
  int64_t MonotonicMicros() override {
    absl::MutexLock l(&mu_);
    return micros_;
  }
  int64_t UnixSeconds() override {
    absl::MutexLock l(&mu_);
    return unix_;
  }
  void AdvanceMicros(int64_t d) {
    absl::MutexLock l(&mu_);
    micros_ += d;
    unix_ = unix_ + (micros_ / 1'000'000) - ((micros_ - d) / 1'000'000);
  }
  void SetUnixSeconds(int64_t s) {
    absl::MutexLock l(&mu_);
    unix_ = s;
  }

 private:
  absl::Mutex mu_;
  int64_t micros_ ABSL_GUARDED_BY(mu_);
  int64_t unix_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv

#pragma once
// Polling for a condition in tests, bounded in time.

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kv::testing {

// Polls `condition` every `poll` until it holds or `timeout` passes; returns whether it held.
inline bool WaitFor(const std::function<bool()>& condition,
                    absl::Duration timeout = absl::Seconds(10),
                    absl::Duration poll = absl::Milliseconds(10)) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(poll);
  }
  return condition();
}

}  // namespace kv::testing

#pragma once
// Rate limit for a log line about a condition that may repeat many times a second (accept
// failing with EMFILE, connections refused at max_connections): at most one line per interval,
// carrying how often the condition occurred since the last line.
//
//   ThrottledLog log(absl::Seconds(10));
//   if (uint64_t n = log.Occurred(absl::Now())) KV_LOG(WARN) << "... (" << n << " times)";
//
// Thread-compatible: one owner (the accept loop) calls it.

#include <cstdint>

#include "absl/time/time.h"

namespace kv::server {

class ThrottledLog {
 public:
  explicit ThrottledLog(absl::Duration interval) : interval_(interval) {}

  // Counts one occurrence at `now`. Returns the occurrences to report (this one included) when
  // a line is due (the first occurrence, then at most once per interval), else 0.
  uint64_t Occurred(absl::Time now) {
    ++pending_;
    if (now < next_) return 0;
    next_ = now + interval_;
    const uint64_t n = pending_;
    pending_ = 0;
    return n;
  }

 private:
  const absl::Duration interval_;
  absl::Time next_ = absl::InfinitePast();
  uint64_t pending_ = 0;
};

}  // namespace kv::server

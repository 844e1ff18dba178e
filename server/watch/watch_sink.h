#pragma once
// Where a WatchHub sends one watcher's messages: a gRPC stream (server/rpc/watch_stream.h) or an
// HTTP Server-Sent Events response (server/http/watch_events.h), or a test's fake.
//
// The protocol between the hub and a sink:
//   - the hub calls Send with at most one message in flight; the sink answers with
//     WatchHub::OnSent once the message is written (or failed);
//   - the hub calls End exactly once, with no Send in flight, and never calls the sink again;
//   - the sink tells the hub when its caller went away (WatchHub::OnCancel), which makes the hub
//     End it, and when it is released (WatchHub::OnGone, after End), which makes the hub forget
//     it. A sink must stay alive until it has called OnGone.
//
// Threading: Send and End are called from the hub's thread, without the hub's lock held.

#include <cstdint>

#include "absl/status/status.h"
#include "server/watch/watch_message.h"

namespace kv::server {

// Trailing metadata of a watch that ended with an error.
inline constexpr char kOldestVersionMetadataKey[] = "kv-oldest-version";
inline constexpr char kResumeVersionMetadataKey[] = "kv-resume-version";

// How a watch ended.
struct WatchEnd {
  absl::Status status;
  // OUT_OF_RANGE: the oldest version this node can serve (kv-oldest-version); 0 = none.
  uint64_t oldest_version = 0;
  // The version to resume from (kv-resume-version): every matching change before it was sent.
  // 0 = none.
  uint64_t resume_version = 0;
};

class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // Writes `message`, which stays alive and unchanged until the sink calls OnSent. The same
  // message may be in flight to many sinks at once (watch_message.h).
  virtual void Send(const WatchMessage& message) = 0;
  // Ends the watch.
  virtual void End(const WatchEnd& end) = 0;
};

}  // namespace kv::server

#pragma once
// Which failures of an idempotent call are worth another attempt, and how long to wait.

#include <grpcpp/support/status.h>

#include "absl/time/time.h"
#include "kv/client.h"

namespace kv::client {

// True for failures that say nothing about the request itself: UNAVAILABLE (also connection
// refused/reset), DEADLINE_EXCEEDED when it was only this attempt's deadline
// (`attempt_deadline_was_shorter`), and RESOURCE_EXHAUSTED produced by the transport (server
// thread pool or HTTP/2 flow control), not by the server's size limits.
bool IsRetryable(const grpc::Status& status, bool attempt_deadline_was_shorter);

// True when a RESOURCE_EXHAUSTED message comes from gRPC's transport rather than from the
// application. The server names fields and limits; gRPC uses a few fixed phrases.
bool IsTransportResourceExhausted(const grpc::Status& status);

// Sleep before round `round` (1 = the first retry): initial * 2^(round-1), capped at max,
// times a factor in [1 - jitter, 1 + jitter] chosen from `unit_random` in [0, 1).
absl::Duration Backoff(const RetryPolicy& policy, int round, double unit_random);

// A uniform random number in [0, 1) from a per-thread generator.
double UnitRandom();

}  // namespace kv::client

#include "client/retry.h"

#include <algorithm>
#include <random>

#include "absl/strings/match.h"

namespace kv::client {

bool IsTransportResourceExhausted(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) return false;
  const std::string& m = status.error_message();
  // "Received message larger than max" is a size problem: retrying cannot help.
  if (absl::StrContains(m, "larger than max")) return false;
  return absl::StrContains(m, "Threadpool Exhausted") ||
         absl::StrContains(m, "ENHANCE_YOUR_CALM") || absl::StrContains(m, "too_many_pings") ||
         absl::StrContains(m, "memory pressure") || absl::StrContains(m, "resource quota");
}

bool IsRetryable(const grpc::Status& status, bool attempt_deadline_was_shorter) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return true;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return attempt_deadline_was_shorter;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return IsTransportResourceExhausted(status);
    default:
      return false;
  }
}

absl::Duration Backoff(const RetryPolicy& policy, int round, double unit_random) {
  if (round <= 0) return absl::ZeroDuration();
  absl::Duration d = policy.initial_backoff;
  for (int i = 1; i < round && d < policy.max_backoff; ++i) d *= 2;
  d = std::min(d, policy.max_backoff);
  double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  double factor = 1.0 - jitter + 2.0 * jitter * unit_random;
  return d * factor;
}

double UnitRandom() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

}  // namespace kv::client

#pragma once
// Per-call bookkeeping shared by the gRPC services: every unary call enters the CallTracker
// (refused once the server drains for shutdown), and leaves it through the Done made by
// FinishReactor, which finishes the gRPC reactor and records the call in the metrics.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "server/metrics/metrics.h"
#include "server/node/node.h"

namespace kv::server {

// Counts unary calls in flight, so shutdown can let them finish and then stop at once (gRPC's
// own Shutdown(deadline) also waits for idle client connections until the deadline).
class CallTracker {
 public:
  // `metrics` (may be null) must outlive the tracker.
  explicit CallTracker(Metrics* metrics = nullptr) : metrics_(metrics) {}

  // False once draining: the call must be refused.
  bool Enter() {
    absl::MutexLock l(&mu_);
    if (draining_) return false;
    ++in_flight_;
    return true;
  }
  void Exit(Method method, grpc::StatusCode code, absl::Duration elapsed) {
    if (metrics_ != nullptr) metrics_->RecordRequest(method, static_cast<int>(code), elapsed);
    absl::MutexLock l(&mu_);
    --in_flight_;
  }
  // Refuses new calls and waits up to `grace` for the ones in flight. Returns how many remain.
  int Drain(absl::Duration grace) {
    absl::MutexLock l(&mu_);
    draining_ = true;
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_flight_ == 0; };
    mu_.AwaitWithTimeout(absl::Condition(&idle), grace);
    return in_flight_;
  }

 private:
  Metrics* const metrics_;
  absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

// The transport facts a node needs about a call.
inline CallContext MakeCallContext(grpc::ServerContextBase* context) {
  CallContext call;
  auto deadline = context->deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    call.deadline = absl::FromChrono(deadline);
  }
  call.peer = context->peer();
  return call;
}

// Enters `tracker` and returns a Done that finishes `reactor` and leaves it; or, when the
// server is draining, finishes `reactor` with UNAVAILABLE and returns nullptr.
inline Done FinishReactor(grpc::ServerUnaryReactor* reactor, CallTracker* tracker, Method method) {
  if (tracker != nullptr && !tracker->Enter()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the node is shutting down"));
    return nullptr;
  }
  auto started = std::chrono::steady_clock::now();
  return [reactor, tracker, method, started](absl::Status status) {
    grpc::Status g = ToGrpcStatus(status);
    reactor->Finish(g);
    if (tracker != nullptr) {
      tracker->Exit(method, g.error_code(),
                    absl::FromChrono(std::chrono::steady_clock::now() - started));
    }
  };
}

}  // namespace kv::server

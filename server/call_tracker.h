#pragma once
// Per-call bookkeeping shared by the gRPC services: every unary call enters the CallTracker
// (refused once the server drains for shutdown), and leaves it through the Done made by
// FinishReactor, which finishes the gRPC reactor and reports the call for metrics.

#include <atomic>
#include <chrono>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "server/node.h"

namespace kv::server {

enum class RpcMethod { kGet, kBatchGet, kPut, kDelete, kList, kFetch, kSubscribe, kSnapshot, kStatus };

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void OnRequestDone(RpcMethod method, grpc::StatusCode code, double seconds) = 0;
};

// Counts unary calls in flight, so shutdown can let them finish and then stop at once (gRPC's
// own Shutdown(deadline) also waits for idle client connections until the deadline).
class CallTracker {
 public:
  explicit CallTracker(RequestObserver* observer = nullptr) : observer_(observer) {}

  // False once draining: the call must be refused.
  bool Enter() {
    absl::MutexLock l(&mu_);
    if (draining_) return false;
    ++in_flight_;
    return true;
  }
  void Exit(RpcMethod method, grpc::StatusCode code, double seconds) {
    if (observer_ != nullptr) observer_->OnRequestDone(method, code, seconds);
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
  void set_observer(RequestObserver* observer) { observer_ = observer; }

 private:
  RequestObserver* observer_;
  absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

// The transport facts a node needs about a call.
inline CallContext MakeCallContext(grpc::CallbackServerContext* context) {
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
inline Done FinishReactor(grpc::ServerUnaryReactor* reactor, CallTracker* tracker,
                          RpcMethod method) {
  if (tracker != nullptr && !tracker->Enter()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the node is shutting down"));
    return nullptr;
  }
  auto started = std::chrono::steady_clock::now();
  return [reactor, tracker, method, started](absl::Status status) {
    grpc::Status g = ToGrpcStatus(status);
    reactor->Finish(g);
    if (tracker != nullptr) {
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      tracker->Exit(method, g.error_code(), seconds);
    }
  };
}

}  // namespace kv::server

#pragma once
// Hook through which the services report each finished request (for metrics), and the helper
// that turns a node's completion into the gRPC reactor's Finish.

#include <chrono>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "common/grpc_status.h"
#include "server/node.h"

namespace kv::server {

enum class RpcMethod { kGet, kBatchGet, kPut, kDelete, kList, kFetch, kSubscribe, kSnapshot, kStatus };

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void OnRequestDone(RpcMethod method, grpc::StatusCode code, double seconds) = 0;
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

// A Done that finishes `reactor` and reports the request to `observer` (may be null).
inline Done FinishReactor(grpc::ServerUnaryReactor* reactor, RequestObserver* observer,
                          RpcMethod method) {
  auto started = std::chrono::steady_clock::now();
  return [reactor, observer, method, started](absl::Status status) {
    grpc::Status g = ToGrpcStatus(status);
    if (observer != nullptr) {
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      observer->OnRequestDone(method, g.error_code(), seconds);
    }
    reactor->Finish(g);
  };
}

}  // namespace kv::server

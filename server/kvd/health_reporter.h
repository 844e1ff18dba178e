#pragma once
// The standard gRPC health service (grpc.health.v1.Health) on every node, so load balancers,
// Kubernetes' gRPC probes and grpc_health_probe need none of our protos. The status follows the
// node's readiness (the same answer as /readyz and Admin.Status: staleness bound, key set,
// disk reserve, the gRPC self-check): SERVING when ready, NOT_SERVING otherwise, for the
// server as a whole ("") and for each of our services. Refreshed every second; NOT_SERVING from
// the start of shutdown. The health service answers without a token (probes carry none) and
// says nothing but that status.
//
// Threading: the refresh runs on its own thread; Stop from the serving thread. Ownership: the
// node and the server outlive this (Stop before the server shuts down).

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "common/periodic_task.h"
#include "server/node/node.h"

namespace kv::server {

class HealthReporter {
 public:
  // `services`: full names of the services whose status is reported besides "".
  HealthReporter(Node* node, grpc::Server* server, std::vector<std::string> services);
  ~HealthReporter();

  // Every service NOT_SERVING, and no more refreshes.
  void Stop();

 private:
  void Refresh();

  Node* const node_;
  grpc::HealthCheckServiceInterface* const health_;
  const std::vector<std::string> services_;
  int last_ = -1;  // -1 unknown, 0 not serving, 1 serving (refresh thread only)
  std::unique_ptr<PeriodicTask> task_;
};

}  // namespace kv::server

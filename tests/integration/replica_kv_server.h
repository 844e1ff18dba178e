#pragma once
// A LocalReplica behind a KV gRPC service, in the test's own process, so the fault scenarios'
// workload and history checker treat the replica like any edge: every KV call is one call of
// the replica's public API, and its answer is translated back to the wire unchanged (a replica's
// own answers are labelled as the matching edge mode's).
//
// Threading: the gRPC server's threads call the replica, which is thread-safe. Ownership: owns
// the replica and the server; the destructor shuts the server down, then the replica.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kv/local_replica.h"

namespace kv::testing {

class ReplicaKvServer {
 public:
  // Serves `replica` on a loopback port chosen at runtime.
  static absl::StatusOr<std::unique_ptr<ReplicaKvServer>> Start(
      std::unique_ptr<client::LocalReplica> replica, client::ReplicaMode mode);
  ~ReplicaKvServer();

  const std::string& address() const { return address_; }
  client::LocalReplica* replica() { return replica_.get(); }

  class Service;

 private:
  ReplicaKvServer() = default;

  std::unique_ptr<client::LocalReplica> replica_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace kv::testing

#pragma once
// The channels a run uses: one per connection, each its own TCP connection (a local subchannel
// pool and a distinct channel argument keep gRPC from sharing one socket among them), spread over
// the targets round robin.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls/client_channel.h"
#include "kvstore/v1/kv.grpc.pb.h"

namespace kv::kvbench {

// A channel of its own to `target`; `index` makes its arguments unique. `security`: TLS.
std::shared_ptr<grpc::Channel> NewDistinctChannel(
    const std::string& target, int index,
    const tls::ClientChannelSecurity& security = tls::ClientChannelSecurity());

class Connections {
 public:
  // Opens `count` channels over `targets` and waits up to `connect_timeout` for each to connect.
  static absl::StatusOr<std::unique_ptr<Connections>> Open(
      const std::vector<std::string>& targets, int count, absl::Duration connect_timeout,
      const tls::ClientChannelSecurity& security = tls::ClientChannelSecurity());

  int size() const { return static_cast<int>(stubs_.size()); }
  kvstore::v1::KV::Stub* stub(int i) const { return stubs_[i].get(); }
  const std::string& target(int i) const { return targets_[i]; }

 private:
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<kvstore::v1::KV::Stub>> stubs_;
  std::vector<std::string> targets_;
};

}  // namespace kv::kvbench

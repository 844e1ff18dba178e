#pragma once
// The channels a client talks to, and which read endpoints are healthy right now.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/tls/client_channel.h"
#include "kvstore/v1/admin.grpc.pb.h"
#include "kvstore/v1/kv.grpc.pb.h"

namespace kv::client {

// One host:port with its channel (secured by `security`) and stubs. Stubs are thread-safe.
struct Endpoint {
  Endpoint(std::string address, int max_message_bytes,
           const tls::ClientChannelSecurity& security = tls::ClientChannelSecurity());

  const std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<kvstore::v1::KV::Stub> kv;
  std::unique_ptr<kvstore::v1::Admin::Stub> admin;
};

// An ordered list of endpoints (nearest first) with a cool-down for the ones that failed.
class EndpointSet {
 public:
  EndpointSet(const std::vector<std::string>& addresses, int max_message_bytes,
              absl::Duration cooldown, Clock* clock,
              const tls::ClientChannelSecurity& security = tls::ClientChannelSecurity());

  // The order to try for one call: healthy endpoints in their configured order, then the ones
  // cooling down, soonest-to-recover first (a last resort rather than a refusal).
  std::vector<Endpoint*> Order();
  // A connection failure or UNAVAILABLE: skip this endpoint for the cool-down.
  void MarkFailed(Endpoint* endpoint);
  // Answered: healthy again at once.
  void MarkHealthy(Endpoint* endpoint);
  // Whether the endpoint is cooling down now (for tests and status).
  bool IsCoolingDown(const Endpoint* endpoint);

  // The endpoint with this address, or nullptr.
  Endpoint* Find(const std::string& address);
  size_t size() const { return endpoints_.size(); }

 private:
  int Index(const Endpoint* endpoint) const;

  const int64_t cooldown_micros_;
  Clock* const clock_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  absl::Mutex mu_;
  // Monotonic micros until which each endpoint is skipped; 0 = healthy.
  std::vector<int64_t> down_until_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::client

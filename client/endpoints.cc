#include "client/endpoints.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>

namespace kv::client {

Endpoint::Endpoint(std::string addr, int max_message_bytes,
                   const tls::ClientChannelSecurity& security)
    : address(std::move(addr)) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_message_bytes);
  args.SetMaxSendMessageSize(max_message_bytes);
  // A node that comes back should be usable again within about a second, not gRPC's default
  // two-minute backoff ceiling.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  // Despite its name, gRPC uses this as the shortest time one connection attempt may take to
  // complete its handshake; at 100 ms a busy or distant node failed calls with time left.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Retries are the client's own (idempotent calls only); gRPC's built-in retry stays off.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  channel = security.CreateChannel(address, args);
  kv = kvstore::v1::KV::NewStub(channel);
  admin = kvstore::v1::Admin::NewStub(channel);
}

EndpointSet::EndpointSet(const std::vector<std::string>& addresses, int max_message_bytes,
                         absl::Duration cooldown, Clock* clock,
                         const tls::ClientChannelSecurity& security)
    : cooldown_micros_(absl::ToInt64Microseconds(cooldown)), clock_(clock) {
  for (const std::string& a : addresses) {
    endpoints_.push_back(std::make_unique<Endpoint>(a, max_message_bytes, security));
  }
  down_until_.assign(endpoints_.size(), 0);
}

std::vector<Endpoint*> EndpointSet::Order() {
  const int64_t now = clock_->MonotonicMicros();
  std::vector<Endpoint*> healthy;
  std::vector<std::pair<int64_t, Endpoint*>> cooling;
  absl::MutexLock l(&mu_);
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (down_until_[i] <= now) {
      healthy.push_back(endpoints_[i].get());
    } else {
      cooling.emplace_back(down_until_[i], endpoints_[i].get());
    }
  }
  std::stable_sort(cooling.begin(), cooling.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [until, e] : cooling) healthy.push_back(e);
  return healthy;
}

int EndpointSet::Index(const Endpoint* endpoint) const {
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (endpoints_[i].get() == endpoint) return static_cast<int>(i);
  }
  return -1;
}

void EndpointSet::MarkFailed(Endpoint* endpoint) {
  int i = Index(endpoint);
  if (i < 0) return;
  const int64_t until = clock_->MonotonicMicros() + cooldown_micros_;
  absl::MutexLock l(&mu_);
  down_until_[i] = until;
}

void EndpointSet::MarkHealthy(Endpoint* endpoint) {
  int i = Index(endpoint);
  if (i < 0) return;
  absl::MutexLock l(&mu_);
  down_until_[i] = 0;
}

bool EndpointSet::IsCoolingDown(const Endpoint* endpoint) {
  int i = Index(endpoint);
  if (i < 0) return false;
  const int64_t now = clock_->MonotonicMicros();
  absl::MutexLock l(&mu_);
  return down_until_[i] > now;
}

Endpoint* EndpointSet::Find(const std::string& address) {
  for (auto& e : endpoints_) {
    if (e->address == address) return e.get();
  }
  return nullptr;
}

}  // namespace kv::client

#pragma once
// Protected mode (like Redis's): a node whose gRPC or HTTP listener can be reached from other
// hosts must use TLS or require authentication, unless the operator says --insecure. A node on
// loopback only is never refused.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kv::server {

// One listener: the flag that set it (for the message) and its HOST:PORT (empty = none).
struct ListenerFact {
  std::string flag;
  std::string address;
};

// What decides whether a node may start exposed.
struct ExposureFacts {
  std::vector<ListenerFact> listeners;
  // The listeners speak TLS (--tls-cert and --tls-key).
  bool tls = false;
  // Every call must carry a valid token.
  bool auth_required = false;
  // --insecure: start even when exposed without either.
  bool insecure = false;
};

// True for a loopback host: 127.0.0.0/8, ::1 (also "[::1]" and ::ffff:127.x.y.z) and
// "localhost". Anything else, the wildcard addresses 0.0.0.0, :: and "" included, and any other
// name (it may resolve to anything), is not.
bool IsLoopbackHost(absl::string_view host);

// HOST of "HOST:PORT" ("[::1]:80" -> "[::1]", ":80" -> "").
absl::string_view HostOfListen(absl::string_view address);

// The listeners that are not on loopback ("--listen 0.0.0.0:7000"); Unix domain sockets
// ("unix:PATH") are local.
std::vector<ListenerFact> ExposedListeners(const ExposureFacts& facts);

// FailedPrecondition naming the exposed listeners when there are some and the node has neither
// TLS nor required authentication and --insecure is not set; OK otherwise.
absl::Status CheckExposure(const ExposureFacts& facts);

}  // namespace kv::server

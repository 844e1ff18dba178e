#pragma once
// The TLS flags of `kvd central` and `kvd edge` (--tls-cert, --tls-key, --tls-ca,
// --tls-client-certs, --tls-http-client-certs, --tls-reload-interval, --insecure, and for edges
// --upstream-server-name), their translation into ServeOptions (a tls::NodeTls and the edge's
// UpstreamSecurity), and the protected-mode check (exposure.h).

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "server/kvd/serve.h"

namespace kv::server {

struct TlsFlags {
  std::string cert;
  std::string key;
  std::string ca;
  std::string client_certs = "none";
  // Empty = as client_certs.
  std::string http_client_certs;
  std::string reload_interval = "10s";
  // Edge only.
  std::string upstream_server_name;
  bool insecure = false;
};

// Registers the flags on `command`; --upstream-server-name only on the "edge" command.
void AddTlsFlags(CLI::App* command, TlsFlags* flags);

// Loads and checks the TLS files into serve->tls and serve->upstream_security, then refuses a
// node whose `listen` / `http` address is reachable from other hosts without TLS or
// authentication (unless --insecure). Errors name the flag.
absl::Status ParseTlsFlags(const TlsFlags& flags, const std::string& listen,
                           const std::string& http, ServeOptions* serve);

}  // namespace kv::server

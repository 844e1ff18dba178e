#pragma once
// For tests: a blocking OpenSSL client that completes one TLS handshake with a server and
// reports the certificate it presented (what `openssl s_client -showcerts` would show), or why
// the handshake failed. Every step is bounded by a timeout. Offers ALPN "h2" so gRPC servers
// accept the handshake too.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/test_ca.h"

namespace kv::testing {

struct ProbeOptions {
  // CA the server's chain must verify against; empty = do not verify (just look).
  std::string ca_pem;
  // Host name checked against the certificate when verifying (and sent as SNI); empty = none.
  std::string server_name;
  // Presented when the server asks for a client certificate; empty = none.
  KeyCert client;
  absl::Duration timeout = absl::Seconds(5);
};

// Connects to "HOST:PORT" (IPv4 literal) and returns the server's leaf certificate, PEM.
// Unavailable with OpenSSL's reason when the handshake fails.
absl::StatusOr<std::string> ServedCertificate(const std::string& address,
                                              const ProbeOptions& options = {});

}  // namespace kv::testing

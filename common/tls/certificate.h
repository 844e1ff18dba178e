#pragma once
// Checks PEM key material before a node uses it: a certificate chain and its private key must
// parse, belong together and be valid now; a CA bundle must hold at least one certificate.
// What gRPC and OpenSSL would only find out at the first handshake (or never: gRPC's file
// watcher serves an expired certificate happily) is refused here with a message naming the
// problem, so a bad new certificate never replaces a good one.
//
// Stateless functions over OpenSSL 3; thread-safe. They leave OpenSSL's per-thread error queue
// empty.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kv::tls {

// Facts about one certificate, for logs, Status and metrics.
struct CertificateInfo {
  // RFC 2253 form, e.g. "CN=edge-a,O=kvstore".
  std::string subject;
  std::string issuer;
  // Upper-case hex, as `openssl x509 -serial` prints it.
  std::string serial_hex;
  absl::Time not_before = absl::InfinitePast();
  absl::Time not_after = absl::InfinitePast();
  // subjectAltName DNS names and IP addresses ("localhost", "127.0.0.1").
  std::vector<std::string> names;
};

// A certificate chain (leaf first) and its private key, checked to belong together.
struct Identity {
  std::string cert_chain_pem;
  std::string private_key_pem;
  CertificateInfo leaf;
};

// The first certificate of `pem`. InvalidArgument when there is none or it does not parse.
absl::StatusOr<CertificateInfo> InspectCertificate(absl::string_view pem);

// Checks that `cert_chain_pem` holds one or more certificates that all parse, that the first
// (the leaf) is valid at `now` (not_before <= now <= not_after), and that `private_key_pem` is
// an unencrypted private key matching the leaf's public key. InvalidArgument otherwise, with
// the reason ("expired at ...", "the private key does not belong to the certificate", ...).
absl::StatusOr<Identity> CheckIdentity(std::string cert_chain_pem, std::string private_key_pem,
                                       absl::Time now);

// Checks that `pem` holds one or more certificates and nothing unparsable; returns how many.
absl::StatusOr<int> CheckCaBundle(absl::string_view pem);

// Reads a whole PEM file of at most `max_bytes`. Errors name the file.
absl::StatusOr<std::string> ReadPemFile(const std::string& path, size_t max_bytes = 1 << 20);

// "2026-03-01T12:00:00Z"
std::string FormatCertTime(absl::Time t);

}  // namespace kv::tls

#pragma once
// The OpenSSL context of a node's HTTP listener (Boost.Asio), built from key material that
// certificate.h has already checked. A context is immutable once built: a reload builds a new
// one and new connections take it, while open connections keep the one they started with.

#include <memory>

#include "absl/status/statusor.h"
#include "common/tls/client_cert_policy.h"
#include "common/tls/credential_dir.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace kv::tls {

// TLS 1.2 or later, the certificate chain and key of `material`, and, unless `policy` is kNone,
// client certificates verified against `material.ca` (which must then be set).
absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeHttpServerContext(
    const PemMaterial& material, ClientCertPolicy policy);

}  // namespace kv::tls

#pragma once
// gRPC credentials of a node over a certificate provider (TLS 1.2+, gRPC's experimental TLS
// credentials API): the server side of its listener and the channel side towards its upstream.
// The provider is the one watching NodeTls's CredentialDir, so both sides follow reloads.

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>

#include <memory>

#include "common/tls/client_cert_policy.h"

namespace kv::tls {

// Serves the provider's identity; asks for client certificates per `policy`, verified against
// the provider's root certificates (which must be watched when `policy` is not kNone).
std::shared_ptr<grpc::ServerCredentials> MakeGrpcServerCredentials(
    std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider,
    ClientCertPolicy policy);

// Verifies the server's chain against the provider's roots (`has_ca`; else the system's roots)
// and its name against the target (or GRPC_SSL_TARGET_NAME_OVERRIDE_ARG); presents the
// provider's identity as client certificate when `has_identity`. `provider` may be null when
// neither is set.
std::shared_ptr<grpc::ChannelCredentials> MakeGrpcChannelCredentials(
    std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider, bool has_ca,
    bool has_identity);

}  // namespace kv::tls

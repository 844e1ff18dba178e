#include "common/tls/grpc_credentials.h"

#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

namespace kv::tls {

std::shared_ptr<grpc::ServerCredentials> MakeGrpcServerCredentials(
    std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider,
    ClientCertPolicy policy) {
  grpc::experimental::TlsServerCredentialsOptions options(std::move(provider));
  options.watch_identity_key_cert_pairs();
  switch (policy) {
    case ClientCertPolicy::kNone:
      options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
      break;
    case ClientCertPolicy::kOptional:
      options.watch_root_certs();
      options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
      break;
    case ClientCertPolicy::kRequire:
      options.watch_root_certs();
      options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      break;
  }
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> MakeGrpcChannelCredentials(
    std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider, bool has_ca,
    bool has_identity) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  if (provider != nullptr) options.set_certificate_provider(std::move(provider));
  if (has_ca) options.watch_root_certs();
  if (has_identity) options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  // Explicit rather than relying on the default: the upstream's certificate must name it.
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace kv::tls

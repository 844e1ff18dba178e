#include "common/tls/client_channel.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/channel_target.h"
#include "common/tls/certificate.h"

namespace kv::tls {

ClientChannelSecurity::ClientChannelSecurity() : credentials_(grpc::InsecureChannelCredentials()) {}

absl::StatusOr<ClientChannelSecurity> ClientChannelSecurity::Make(const ClientTlsFiles& files,
                                                                  std::string bearer_token) {
  ClientChannelSecurity security;
  if (!bearer_token.empty()) security.authorization_ = absl::StrCat("Bearer ", bearer_token);
  if (files.cert_file.empty() != files.key_file.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs its key and a key its certificate (--tls-cert, --tls-key)");
  }
  const bool tls = files.enabled || !files.ca_file.empty() || !files.cert_file.empty();
  if (!tls) {
    if (!files.server_name.empty()) {
      return absl::InvalidArgumentError("a TLS server name is set but TLS is not (--tls-ca)");
    }
    return security;
  }
  grpc::SslCredentialsOptions ssl;
  if (!files.ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPemFile(files.ca_file);
    if (!ca.ok()) return ca.status();
    if (absl::StatusOr<int> n = CheckCaBundle(*ca); !n.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(files.ca_file, ": ", n.status().message()));
    }
    ssl.pem_root_certs = std::move(*ca);
  }
  if (!files.cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadPemFile(files.cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPemFile(files.key_file);
    if (!key.ok()) return key.status();
    absl::StatusOr<Identity> identity = CheckIdentity(*cert, *key, absl::Now());
    if (!identity.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(files.cert_file, " / ", files.key_file, ": ", identity.status().message()));
    }
    ssl.pem_cert_chain = std::move(identity->cert_chain_pem);
    ssl.pem_private_key = std::move(identity->private_key_pem);
  }
  security.tls_ = true;
  security.credentials_ = grpc::SslCredentials(ssl);
  security.server_name_ = files.server_name;
  return security;
}

void ClientChannelSecurity::ApplyTo(grpc::ChannelArguments* args) const {
  if (tls_ && !server_name_.empty()) args->SetSslTargetNameOverride(server_name_);
}

std::shared_ptr<grpc::Channel> ClientChannelSecurity::CreateChannel(
    const std::string& target, grpc::ChannelArguments args) const {
  ApplyTo(&args);
  return grpc::CreateCustomChannel(ChannelTarget(target), credentials_, args);
}

void ClientChannelSecurity::Authorize(grpc::ClientContext* context) const {
  if (!authorization_.empty()) context->AddMetadata("authorization", authorization_);
}

}  // namespace kv::tls

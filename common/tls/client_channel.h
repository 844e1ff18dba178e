#pragma once
// How a client (the client library, kvctl, kvbench, tests) secures its gRPC channels to nodes:
// TLS credentials from PEM files, the name the server's certificate must carry, and the bearer
// token sent on every call.
//
// Immutable once made; thread-safe.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace kv::tls {

struct ClientTlsFiles {
  // Speak TLS. Implied by ca_file or cert_file; alone, servers are verified with the system's
  // root certificates.
  bool enabled = false;
  // PEM file of the CA that signed the nodes' certificates.
  std::string ca_file;
  // This client's certificate chain and key (PEM), for nodes that ask for client certificates.
  std::string cert_file;
  std::string key_file;
  // The name the node's certificate must carry instead of the endpoint's host (for endpoints
  // given as an IP address the certificate does not list).
  std::string server_name;
};

class ClientChannelSecurity {
 public:
  // Plain text, no token.
  ClientChannelSecurity();
  // Reads and checks the files (the client's key must match its certificate, which must be
  // valid now). InvalidArgument naming the file otherwise. `bearer_token` may be empty.
  static absl::StatusOr<ClientChannelSecurity> Make(const ClientTlsFiles& files,
                                                    std::string bearer_token = "");

  bool tls() const { return tls_; }
  const std::shared_ptr<grpc::ChannelCredentials>& credentials() const { return credentials_; }
  // Adds the server-name override (GRPC_SSL_TARGET_NAME_OVERRIDE_ARG) when one is set.
  void ApplyTo(grpc::ChannelArguments* args) const;
  // A channel to `target` with these credentials and `args` (+ ApplyTo).
  std::shared_ptr<grpc::Channel> CreateChannel(const std::string& target,
                                               grpc::ChannelArguments args) const;
  // Adds `authorization: Bearer <token>` to the call when a token is set. Metadata rather than
  // call credentials: gRPC drops call credentials on plain-text channels.
  void Authorize(grpc::ClientContext* context) const;

 private:
  bool tls_ = false;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::string server_name_;
  std::string authorization_;  // "Bearer <token>", or empty
};

}  // namespace kv::tls

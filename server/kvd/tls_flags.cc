#include "server/kvd/tls_flags.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/tls/client_cert_policy.h"
#include "common/tls/node_tls.h"
#include "common/units.h"
#include "server/kvd/exposure.h"

namespace kv::server {

void AddTlsFlags(CLI::App* command, TlsFlags* flags) {
  command->add_option("--tls-cert", flags->cert,
                      "PEM certificate chain (leaf first): serve gRPC and HTTP over TLS; an edge "
                      "also presents it to its upstream. Needs --tls-key");
  command->add_option("--tls-key", flags->key, "PEM private key of --tls-cert (unencrypted)");
  command->add_option("--tls-ca", flags->ca,
                      "PEM CA bundle: verifies the upstream (edges; also turns on TLS towards "
                      "it) and the client certificates of --tls-client-certs");
  command
      ->add_option("--tls-client-certs", flags->client_certs,
                   "Client certificates on the gRPC listener (and HTTP, unless "
                   "--tls-http-client-certs): require, optional or none")
      ->check(CLI::IsMember({"require", "optional", "none"}))
      ->capture_default_str();
  command
      ->add_option("--tls-http-client-certs", flags->http_client_certs,
                   "Client certificates on the HTTP listener: require, optional or none "
                   "(default: as --tls-client-certs)")
      ->check(CLI::IsMember({"require", "optional", "none"}));
  command
      ->add_option("--tls-reload-interval", flags->reload_interval,
                   "How often the TLS files are checked for changes (0 = only on SIGHUP)")
      ->capture_default_str();
  if (command->get_name() == "edge") {
    command->add_option("--upstream-server-name", flags->upstream_server_name,
                        "Name the upstream's certificate must carry, instead of the host of "
                        "--upstream (for an upstream given as an IP address)");
  }
  command->add_flag("--insecure", flags->insecure,
                    "Start even when a listener is reachable from other hosts without TLS or "
                    "token authentication");
}

absl::Status ParseTlsFlags(const TlsFlags& flags, const std::string& listen,
                           const std::string& http, ServeOptions* serve) {
  const bool any = !flags.cert.empty() || !flags.key.empty() || !flags.ca.empty();
  if (flags.cert.empty() != flags.key.empty()) {
    return absl::InvalidArgumentError(flags.cert.empty() ? "--tls-key needs --tls-cert"
                                                         : "--tls-cert needs --tls-key");
  }
  absl::StatusOr<tls::ClientCertPolicy> grpc_policy =
      tls::ParseClientCertPolicy(flags.client_certs);
  if (!grpc_policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-client-certs: ", grpc_policy.status().message()));
  }
  absl::StatusOr<tls::ClientCertPolicy> http_policy = tls::ParseClientCertPolicy(
      flags.http_client_certs.empty() ? flags.client_certs : flags.http_client_certs);
  if (!http_policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-http-client-certs: ", http_policy.status().message()));
  }
  const bool asks =
      *grpc_policy != tls::ClientCertPolicy::kNone || *http_policy != tls::ClientCertPolicy::kNone;
  if (asks && flags.cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-certs / --tls-http-client-certs need --tls-cert and --tls-key");
  }
  if (asks && flags.ca.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-certs / --tls-http-client-certs need --tls-ca (the CA client "
        "certificates must chain to)");
  }
  if (!flags.upstream_server_name.empty() && !any) {
    return absl::InvalidArgumentError(
        "--upstream-server-name needs TLS towards the upstream (--tls-ca, or --tls-cert and "
        "--tls-key)");
  }
  const absl::StatusOr<absl::Duration> interval = ParseDurationFlag(flags.reload_interval);
  if (!interval.ok() || *interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--tls-reload-interval: must be a duration >= 0 (e.g. 10s; 0 = only on SIGHUP)");
  }

  ExposureFacts facts;
  facts.listeners = {{"--listen", listen}, {"--http", http}};
  facts.tls = !flags.cert.empty();
  // Token authentication is wired in by the auth flags; until then no node requires it.
  // TODO(lead): pass whether this node requires tokens.
  facts.auth_required = false;
  facts.insecure = flags.insecure;
  if (absl::Status s = CheckExposure(facts); !s.ok()) return s;
  if (flags.insecure && !facts.tls && !facts.auth_required) {
    for (const ListenerFact& l : ExposedListeners(facts)) {
      KV_LOG(WARN) << l.flag << " " << l.address
                   << " is reachable from other hosts in plain text without authentication "
                      "(--insecure)";
    }
  }

  if (any) {
    tls::NodeTlsOptions options;
    options.cert_file = flags.cert;
    options.key_file = flags.key;
    options.ca_file = flags.ca;
    options.grpc_client_certs = *grpc_policy;
    options.http_client_certs = *http_policy;
    options.reload_interval = *interval;
    absl::StatusOr<std::unique_ptr<tls::NodeTls>> node_tls = tls::NodeTls::Create(options);
    if (!node_tls.ok()) {
      return absl::Status(node_tls.status().code(),
                          absl::StrCat("TLS: ", node_tls.status().message()));
    }
    serve->tls = std::move(*node_tls);
    serve->upstream_security.credentials = serve->tls->GrpcChannelCredentials();
    serve->upstream_security.server_name = flags.upstream_server_name;
  }

  return absl::OkStatus();
}

}  // namespace kv::server

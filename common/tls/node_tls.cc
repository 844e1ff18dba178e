#include "common/tls/node_tls.h"

#include <grpc/grpc.h>

#include <boost/asio/ssl/context.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/tls/grpc_credentials.h"
#include "common/tls/http_ssl_context.h"

namespace kv::tls {
namespace {

// How often gRPC's provider rereads the checked copies (its smallest interval).
constexpr unsigned int kProviderRefreshSeconds = 1;

absl::Status Prefixed(absl::string_view prefix, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(prefix, s.message()));
}

std::string Describe(const CertificateInfo& cert) {
  return absl::StrCat("subject ", cert.subject, ", serial ", cert.serial_hex, ", valid until ",
                      FormatCertTime(cert.not_after));
}

}  // namespace

struct NodeTls::Checked {
  CertificateInfo leaf;
  int ca_certificates = 0;
  std::shared_ptr<boost::asio::ssl::context> http_context;
};

NodeTls::NodeTls(NodeTlsOptions options) : options_(std::move(options)) { grpc_init(); }

NodeTls::~NodeTls() {
  StopWatching();
  channel_credentials_.reset();
  server_credentials_.reset();
  dir_.reset();
  grpc_shutdown();
}

absl::StatusOr<std::unique_ptr<NodeTls>> NodeTls::Create(NodeTlsOptions options) {
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError("a certificate needs its key and a key its certificate");
  }
  const bool asks = options.grpc_client_certs != ClientCertPolicy::kNone ||
                    options.http_client_certs != ClientCertPolicy::kNone;
  if (asks && options.cert_file.empty()) {
    return absl::InvalidArgumentError("asking for client certificates needs a certificate");
  }
  if (asks && options.ca_file.empty()) {
    return absl::InvalidArgumentError("asking for client certificates needs a CA to verify them");
  }
  if (options.reload_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the reload interval must not be negative");
  }
  std::unique_ptr<NodeTls> tls(new NodeTls(std::move(options)));
  absl::StatusOr<PemMaterial> material = tls->ReadMaterial();
  if (!material.ok()) return material.status();
  absl::StatusOr<Checked> checked = tls->Check(*material);
  if (!checked.ok()) return checked.status();
  absl::StatusOr<std::unique_ptr<CredentialDir>> dir =
      CredentialDir::Create(tls->options_.work_dir);
  if (!dir.ok()) return dir.status();
  tls->dir_ = std::move(*dir);
  if (absl::Status s = tls->dir_->Publish(*material); !s.ok()) return s;

  const bool has_identity = tls->has_identity();
  const bool has_ca = !tls->options_.ca_file.empty();
  // One provider per credentials: in gRPC 1.51 a provider shared by a server and a channel
  // stops delivering updates to the server once the channel's handshake is done.
  if (has_identity) {
    tls->server_credentials_ = MakeGrpcServerCredentials(tls->NewProvider(/*identity=*/true),
                                                         tls->options_.grpc_client_certs);
  }
  tls->channel_credentials_ = MakeGrpcChannelCredentials(
      has_identity || has_ca ? tls->NewProvider(has_identity) : nullptr, has_ca, has_identity);

  absl::MutexLock reload_lock(&tls->reload_mu_);
  tls->active_ = std::move(*material);
  absl::MutexLock lock(&tls->mu_);
  TlsState& state = tls->state_;
  state.has_identity = has_identity;
  state.cert = checked->leaf;
  state.cert_file = tls->options_.cert_file;
  state.key_file = tls->options_.key_file;
  state.ca_file = tls->options_.ca_file;
  state.ca_certificates = checked->ca_certificates;
  state.grpc_client_certs = tls->options_.grpc_client_certs;
  state.http_client_certs = tls->options_.http_client_certs;
  state.reload_interval = tls->options_.reload_interval;
  state.loaded_at = absl::Now();
  tls->http_context_ = std::move(checked->http_context);
  if (has_identity) {
    KV_LOG(INFO) << "TLS certificate: " << Describe(state.cert);
  }
  return tls;
}

std::shared_ptr<grpc::experimental::CertificateProviderInterface> NodeTls::NewProvider(
    bool identity) const {
  const std::string ca = options_.ca_file.empty() ? "" : dir_->ca_path();
  if (!identity) {
    return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        ca, kProviderRefreshSeconds);
  }
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      dir_->key_path(), dir_->cert_path(), ca, kProviderRefreshSeconds);
}

absl::StatusOr<PemMaterial> NodeTls::ReadMaterial() const {
  PemMaterial material;
  if (has_identity()) {
    absl::StatusOr<std::string> cert = ReadPemFile(options_.cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPemFile(options_.key_file);
    if (!key.ok()) return key.status();
    material.cert_chain = std::move(*cert);
    material.private_key = std::move(*key);
  }
  if (!options_.ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPemFile(options_.ca_file);
    if (!ca.ok()) return ca.status();
    material.ca = std::move(*ca);
  }
  return material;
}

absl::StatusOr<NodeTls::Checked> NodeTls::Check(const PemMaterial& material) const {
  Checked checked;
  if (has_identity()) {
    absl::StatusOr<Identity> identity =
        CheckIdentity(material.cert_chain, material.private_key, absl::Now());
    if (!identity.ok()) {
      return Prefixed(absl::StrCat(options_.cert_file, " / ", options_.key_file, ": "),
                      identity.status());
    }
    checked.leaf = std::move(identity->leaf);
  }
  if (!options_.ca_file.empty()) {
    absl::StatusOr<int> count = CheckCaBundle(material.ca);
    if (!count.ok()) return Prefixed(absl::StrCat(options_.ca_file, ": "), count.status());
    checked.ca_certificates = *count;
  }
  if (has_identity()) {
    absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> http =
        MakeHttpServerContext(material, options_.http_client_certs);
    if (!http.ok()) return http.status();
    checked.http_context = std::move(*http);
  }
  return checked;
}

std::shared_ptr<grpc::ServerCredentials> NodeTls::GrpcServerCredentials() const {
  return server_credentials_;
}

std::shared_ptr<grpc::ChannelCredentials> NodeTls::GrpcChannelCredentials() const {
  return channel_credentials_;
}

std::shared_ptr<boost::asio::ssl::context> NodeTls::HttpContext() const {
  absl::ReaderMutexLock lock(&mu_);
  return http_context_;
}

NodeTls::ReloadResult NodeTls::Reload(bool forced) {
  absl::MutexLock reload_lock(&reload_mu_);
  absl::StatusOr<PemMaterial> material = ReadMaterial();
  if (!material.ok()) {
    Refuse(material.status(), std::nullopt, forced);
    return ReloadResult::kRefused;
  }
  if (*material == active_) {
    refused_material_.reset();
    refused_message_.clear();
    absl::MutexLock lock(&mu_);
    state_.reload_failing = false;
    if (forced) {
      KV_LOG(INFO) << "TLS reload: the files are unchanged"
                   << (state_.has_identity ? "; serving " + Describe(state_.cert) : "");
    }
    return ReloadResult::kUnchanged;
  }
  if (!forced && refused_material_.has_value() && *refused_material_ == *material) {
    return ReloadResult::kRefused;  // counted and logged when first seen
  }
  absl::StatusOr<Checked> checked = Check(*material);
  if (!checked.ok()) {
    Refuse(checked.status(), *material, forced);
    return ReloadResult::kRefused;
  }
  if (absl::Status s = dir_->Publish(*material); !s.ok()) {
    Refuse(s, *material, forced);
    return ReloadResult::kRefused;
  }
  active_ = std::move(*material);
  refused_material_.reset();
  refused_message_.clear();
  absl::MutexLock lock(&mu_);
  state_.cert = std::move(checked->leaf);
  state_.ca_certificates = checked->ca_certificates;
  state_.loaded_at = absl::Now();
  ++state_.reloads;
  state_.reload_failing = false;
  http_context_ = std::move(checked->http_context);
  KV_LOG(INFO) << "TLS reload: new key material in use"
               << (state_.has_identity ? ": " + Describe(state_.cert) : " (CA)");
  return ReloadResult::kLoaded;
}

void NodeTls::Refuse(const absl::Status& why, std::optional<PemMaterial> material, bool forced) {
  const std::string message(why.message());
  // Unreadable files are recognized by their message, checked ones by their contents.
  const bool seen = material.has_value()
                        ? refused_material_.has_value() && *refused_material_ == *material
                        : !refused_material_.has_value() && refused_message_ == message;
  if (seen && !forced) return;  // still failing, already counted
  refused_material_ = std::move(material);
  refused_message_ = message;
  absl::MutexLock lock(&mu_);
  state_.last_error = message;
  state_.last_error_at = absl::Now();
  state_.reload_failing = true;
  ++state_.reload_failures;
  KV_LOG(WARN) << "TLS reload refused: " << message << "; still using "
               << (state_.has_identity ? Describe(state_.cert) : "the previous CA");
}

void NodeTls::StartWatching() {
  if (options_.reload_interval <= absl::ZeroDuration()) return;
  absl::MutexLock lock(&watch_mu_);
  if (watcher_ != nullptr) return;
  watcher_ = std::make_unique<PeriodicTask>("tls-reload", options_.reload_interval,
                                            [this] { Reload(/*forced=*/false); });
}

void NodeTls::StopWatching() {
  std::unique_ptr<PeriodicTask> watcher;
  {
    absl::MutexLock lock(&watch_mu_);
    watcher = std::move(watcher_);
  }
  watcher.reset();  // joins outside the lock
}

TlsState NodeTls::State() const {
  absl::ReaderMutexLock lock(&mu_);
  return state_;
}

}  // namespace kv::tls

#pragma once
// A node's TLS: its certificate and key, the CA, the credentials of its gRPC listener and of its
// channel to an upstream, the SSL context of its HTTP listener, and certificate rotation.
//
// Rotation. The operator's files are never handed to gRPC or OpenSSL directly. Reload() reads
// them, checks them (certificate.h: parses, key belongs to the certificate, valid now; the CA
// parses) and only then
//   - publishes a copy into a private CredentialDir, which a gRPC FileWatcherCertificateProvider
//     (refresh 1 s) watches: the gRPC listener and the upstream channel take the new material
//     for new handshakes within about a second;
//   - builds a new HTTP SSL context, which new HTTP connections take at once.
// Connections already open keep the material they started with: nothing is dropped. A new
// material that fails any check is refused: the one in use stays, the failure is logged and
// counted (State()). Reload() runs every `reload_interval` when the files changed (StartWatching)
// and on demand (kvd: SIGHUP).
//
// Threading: every method is thread-safe. Reloads are serialized. Ownership: the credentials
// handed out keep their providers alive, but the providers read files this object owns, so it
// must outlive every server and channel made with them.

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/periodic_task.h"
#include "common/tls/certificate.h"
#include "common/tls/client_cert_policy.h"
#include "common/tls/credential_dir.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace kv::tls {

struct NodeTlsOptions {
  // The node's certificate chain (leaf first) and private key, PEM. Both or neither: without
  // them the node's listeners speak plain text and only its upstream channel uses TLS.
  std::string cert_file;
  std::string key_file;
  // CA bundle, PEM: verifies the upstream's certificate and clients' certificates. Empty: the
  // system's roots verify the upstream, and clients cannot be asked for certificates.
  std::string ca_file;
  // Client certificates asked for by the gRPC and the HTTP listener.
  ClientCertPolicy grpc_client_certs = ClientCertPolicy::kNone;
  ClientCertPolicy http_client_certs = ClientCertPolicy::kNone;
  // How often the files are read again to see whether they changed; ZeroDuration() = only when
  // Reload() is called.
  absl::Duration reload_interval = absl::Seconds(10);
  // Parent of the private directory of checked copies; empty = $TMPDIR, else /tmp.
  std::string work_dir;
};

// What State() reports (Admin.Status, /metrics).
struct TlsState {
  bool has_identity = false;
  // The certificate in use (has_identity).
  CertificateInfo cert;
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  int ca_certificates = 0;
  ClientCertPolicy grpc_client_certs = ClientCertPolicy::kNone;
  ClientCertPolicy http_client_certs = ClientCertPolicy::kNone;
  absl::Duration reload_interval;
  // When the material in use was loaded (at start, or by the latest successful reload).
  absl::Time loaded_at = absl::InfinitePast();
  // The latest refused reload, kept after later successes (compare the times).
  std::string last_error;
  absl::Time last_error_at = absl::InfinitePast();
  // The latest attempt was refused: the files on disk are not what is in use.
  bool reload_failing = false;
  // New materials loaded after the first, and new materials refused.
  uint64_t reloads = 0;
  uint64_t reload_failures = 0;
};

class NodeTls {
 public:
  // Reads and checks the files; any problem is an error (the node must not start).
  static absl::StatusOr<std::unique_ptr<NodeTls>> Create(NodeTlsOptions options);
  ~NodeTls();
  NodeTls(const NodeTls&) = delete;
  NodeTls& operator=(const NodeTls&) = delete;

  // Whether the node has a certificate: its listeners speak TLS.
  bool has_identity() const { return !options_.cert_file.empty(); }
  const NodeTlsOptions& options() const { return options_; }

  // The gRPC listener's credentials; has_identity() only.
  std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials() const;
  // The upstream channel's credentials: verifies the server (CA file, else system roots) and
  // its name, presents this node's certificate when it has one.
  std::shared_ptr<grpc::ChannelCredentials> GrpcChannelCredentials() const;
  // The HTTP listener's context in use; has_identity() only (else null).
  std::shared_ptr<boost::asio::ssl::context> HttpContext() const;

  enum class ReloadResult { kLoaded, kUnchanged, kRefused };
  // Reads the files; when they differ from the material in use, checks and installs them. A
  // material refused before is refused again silently unless `forced` (SIGHUP), which also
  // logs an unchanged reading.
  ReloadResult Reload(bool forced);
  // Reload(false) every reload_interval (nothing when it is zero), until StopWatching().
  void StartWatching();
  void StopWatching();

  TlsState State() const;

 private:
  struct Checked;

  explicit NodeTls(NodeTlsOptions options);
  // A provider watching dir_: the CA (if any), and the key and certificate when `identity`.
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> NewProvider(
      bool identity) const;
  absl::StatusOr<PemMaterial> ReadMaterial() const;
  absl::StatusOr<Checked> Check(const PemMaterial& material) const;
  // Records a refusal of `material` (nullopt: unreadable files) and logs it.
  void Refuse(const absl::Status& why, std::optional<PemMaterial> material, bool forced)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(reload_mu_);

  const NodeTlsOptions options_;
  std::unique_ptr<CredentialDir> dir_;
  std::shared_ptr<grpc::ServerCredentials> server_credentials_;
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials_;

  // Held for a whole reload; serializes them.
  absl::Mutex reload_mu_;
  PemMaterial active_ ABSL_GUARDED_BY(reload_mu_);
  // The latest refusal, to refuse the same thing again without counting it twice.
  std::optional<PemMaterial> refused_material_ ABSL_GUARDED_BY(reload_mu_);
  std::string refused_message_ ABSL_GUARDED_BY(reload_mu_);

  mutable absl::Mutex mu_;
  TlsState state_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<boost::asio::ssl::context> http_context_ ABSL_GUARDED_BY(mu_);

  absl::Mutex watch_mu_;
  std::unique_ptr<PeriodicTask> watcher_ ABSL_GUARDED_BY(watch_mu_);
};

}  // namespace kv::tls

#pragma once
// The private directory from which gRPC reads a node's key material. gRPC's
// FileWatcherCertificateProvider rereads its files every second and uses whatever it finds; it
// checks neither expiry nor (in 1.51) that key and certificate belong together. So it never
// watches the operator's files: NodeTls checks those (certificate.h) and publishes only
// material that passed into this directory, which the provider watches.
//
// Layout: DIR/gen-N/{cert.pem,key.pem,ca.pem} and DIR/current -> gen-N, a symbolic link
// replaced by rename(2), so a reader sees the old or the new generation, never a mix of paths.
// The provider reads key and certificate with two opens, though; it retries when a file's
// mtime changed while it read, so every generation's files get an mtime (in seconds, gRPC's
// resolution) later than the previous generation's. The last three generations are kept (a
// reader may still be opening the previous one); older ones are removed.
//
// The directory, PARENT/kv-tls-<pid>-XXXXXX, is created mode 0700 (files 0600) and removed by
// the destructor; one left behind by a process that was killed is removed by the next Create in
// the same parent. Not thread-safe: one owner publishes.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kv::tls {

// PEM texts; an empty one is not written (no identity, or no CA).
struct PemMaterial {
  std::string cert_chain;
  std::string private_key;
  std::string ca;

  bool operator==(const PemMaterial& o) const {
    return cert_chain == o.cert_chain && private_key == o.private_key && ca == o.ca;
  }
};

class CredentialDir {
 public:
  // Makes PARENT/kv-tls-<pid>-XXXXXX (parent empty: $TMPDIR, else /tmp).
  static absl::StatusOr<std::unique_ptr<CredentialDir>> Create(const std::string& parent);
  ~CredentialDir();
  CredentialDir(const CredentialDir&) = delete;
  CredentialDir& operator=(const CredentialDir&) = delete;

  // Writes `material` as a new generation and points `current` at it.
  absl::Status Publish(const PemMaterial& material);

  // Paths through `current`, for the provider.
  std::string cert_path() const { return dir_ + "/current/cert.pem"; }
  std::string key_path() const { return dir_ + "/current/key.pem"; }
  std::string ca_path() const { return dir_ + "/current/ca.pem"; }
  const std::string& dir() const { return dir_; }
  int generation() const { return generation_; }

 private:
  explicit CredentialDir(std::string dir) : dir_(std::move(dir)) {}

  const std::string dir_;
  int generation_ = 0;
  // mtime (Unix seconds) given to the files of the latest generation.
  int64_t last_mtime_ = 0;
};

}  // namespace kv::tls

#include "tests/support/test_pki.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

namespace kv::testing {
namespace {

void MustWrite(const std::string& path, const std::string& data) {
  if (absl::Status s = WriteFileAtomically(path, data); !s.ok()) {
    std::fprintf(stderr, "test_pki: %s\n", std::string(s.message()).c_str());
    std::abort();
  }
}

}  // namespace

TestPki::TestPki(std::string dir, const std::string& ca_name)
    : dir_(std::move(dir)), ca_(TestCa::Create(ca_name)) {
  ::mkdir(dir_.c_str(), 0700);
  MustWrite(ca_file(), ca_.cert_pem());
}

TestPki::Files TestPki::FilesOf(const std::string& name) const {
  return Files{dir_ + "/" + name + ".pem", dir_ + "/" + name + ".key"};
}

TestPki::Files TestPki::Write(const std::string& name, const KeyCert& pair) {
  Files files = FilesOf(name);
  MustWrite(files.key, pair.key_pem);
  MustWrite(files.cert, pair.cert_pem);
  return files;
}

TestPki::Files TestPki::Issue(const std::string& name, CertOptions options) {
  if (options.common_name == CertOptions().common_name) options.common_name = name;
  return Write(name, ca_.Issue(options));
}

std::vector<std::string> TestPki::NodeFlags(const std::string& name,
                                            const std::string& client_certs,
                                            const std::string& reload_interval) {
  Files files = FilesOf(name);
  struct stat st {};
  if (::stat(files.cert.c_str(), &st) != 0) files = Issue(name);
  return {"--tls-cert",
          files.cert,
          "--tls-key",
          files.key,
          "--tls-ca",
          ca_file(),
          "--tls-client-certs",
          client_certs,
          "--tls-reload-interval",
          reload_interval};
}

tls::ClientTlsFiles TestPki::ClientFiles() {
  if (!client_issued_) {
    Issue("client");
    client_issued_ = true;
  }
  tls::ClientTlsFiles files;
  files.ca_file = ca_file();
  files.cert_file = FilesOf("client").cert;
  files.key_file = FilesOf("client").key;
  return files;
}

tls::ClientChannelSecurity TestPki::ClientSecurity(const std::string& bearer_token) {
  absl::StatusOr<tls::ClientChannelSecurity> security =
      tls::ClientChannelSecurity::Make(ClientFiles(), bearer_token);
  if (!security.ok()) {
    std::fprintf(stderr, "test_pki: %s\n", std::string(security.status().message()).c_str());
    std::abort();
  }
  return *security;
}

}  // namespace kv::testing

#pragma once
// A throw-away public-key infrastructure on disk for tests that start real nodes with TLS: a CA
// (DIR/ca.pem) and, per name, a certificate and key (DIR/NAME.pem, DIR/NAME.key) with SANs for
// 127.0.0.1, ::1 and localhost, plus the kvd flags and client files that use them.
//
//   TestPki pki(dir.Sub("pki"));
//   std::vector<std::string> flags = pki.NodeFlags("central");   // --tls-cert ... --tls-ca ...
//   tls::ClientTlsFiles client = pki.ClientFiles();              // a client certificate too
//
// Thread-compatible.

#include <string>
#include <vector>

#include "common/tls/client_channel.h"
#include "tests/support/test_ca.h"

namespace kv::testing {

class TestPki {
 public:
  struct Files {
    std::string cert;
    std::string key;
  };

  // Creates `dir` (its parent must exist) and the CA in it.
  explicit TestPki(std::string dir, const std::string& ca_name = "kv test CA");

  // Issues a certificate for `name` and writes DIR/NAME.pem and DIR/NAME.key (replacing them
  // atomically, key first).
  Files Issue(const std::string& name, CertOptions options = {});
  Files Write(const std::string& name, const KeyCert& pair);
  Files FilesOf(const std::string& name) const;

  // kvd flags for a node `name` (issued if not yet): its certificate, the CA, client
  // certificates per `client_certs` ("require", "optional", "none") and the reload interval.
  std::vector<std::string> NodeFlags(const std::string& name,
                                     const std::string& client_certs = "require",
                                     const std::string& reload_interval = "10s");

  // TLS files of a client trusting this CA, with a client certificate ("client", issued once).
  tls::ClientTlsFiles ClientFiles();
  // The same as ClientChannelSecurity (aborts the test on error).
  tls::ClientChannelSecurity ClientSecurity(const std::string& bearer_token = "");

  const TestCa& ca() const { return ca_; }
  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/ca.pem"; }

 private:
  const std::string dir_;
  TestCa ca_;
  bool client_issued_ = false;
};

}  // namespace kv::testing

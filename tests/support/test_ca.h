#pragma once
// Throw-away certificates for tests, made with OpenSSL's API (no `openssl` binary, any
// validity period, expired ones included): a self-signed CA and the certificates it issues,
// with subjectAltNames for 127.0.0.1 / localhost or any other name. Keys are EC P-256.
//
//   TestCa ca = TestCa::Create("test CA");
//   KeyCert node = ca.Issue({.common_name = "central"});   // SANs 127.0.0.1, ::1, localhost
//   WriteFileAtomically(dir + "/ca.pem", ca.cert_pem());
//
// Thread-compatible: a TestCa is immutable after Create.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kv::testing {

struct KeyCert {
  std::string cert_pem;
  std::string key_pem;
};

struct CertOptions {
  std::string common_name = "kv-node";
  // subjectAltName entries; the defaults cover a node on loopback.
  std::vector<std::string> dns_names = {"localhost"};
  std::vector<std::string> ip_addresses = {"127.0.0.1", "::1"};
  // Validity, relative to now: [now + not_before, now + not_after]. Negative both = expired.
  absl::Duration not_before = -absl::Hours(1);
  absl::Duration not_after = absl::Hours(24);
  // 0 = a random serial.
  uint64_t serial = 0;
};

class TestCa {
 public:
  // A self-signed CA certificate valid from an hour ago for ten days.
  static TestCa Create(const std::string& name = "kv test CA");

  const std::string& cert_pem() const { return ca_.cert_pem; }
  const std::string& key_pem() const { return ca_.key_pem; }
  // A certificate for serverAuth and clientAuth signed by this CA, and its new key.
  KeyCert Issue(const CertOptions& options) const;

 private:
  KeyCert ca_;
};

// A fresh EC P-256 private key (PEM) that belongs to no certificate.
std::string NewPrivateKeyPem();

// Writes `data` to `path` through a temporary file and rename(2), so readers see the old or the
// new contents, never a part.
absl::Status WriteFileAtomically(const std::string& path, const std::string& data);

// The serial number (upper-case hex) of the first certificate of `pem`, or "".
std::string SerialOf(const std::string& pem);

}  // namespace kv::testing

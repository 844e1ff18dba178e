#pragma once
// A gtest fixture that owns a cluster of real kvd processes on loopback (a central node and its
// edges) and prints their logs when a test fails.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/support/kvd_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace kv::testing {

class ClusterFixture : public ::testing::Test {
 protected:
  // Starts the central node (data under the fixture's directory) with `extra` flags.
  KvdProcess* StartCentral(std::vector<std::string> extra = {});
  // Starts an edge named `name` in `mode` ("full" or "cache") following `upstream`.
  KvdProcess* StartEdge(const std::string& name, const std::string& upstream,
                        const std::string& mode = "full", std::vector<std::string> extra = {});
  // Until it has synced an edge forwards every read; tests that want local answers wait.
  bool WaitReady(KvdProcess* node, absl::Duration timeout = absl::Seconds(30));
  // From now on nodes start with TLS: a certificate per node from a throw-away CA under the
  // fixture's directory, client certificates asked for per `client_certs` (also between nodes:
  // edges present theirs to their upstream), and the fixture talks to them over TLS with a
  // client certificate.
  TestPki* EnableTls(const std::string& client_certs = "require",
                     const std::string& reload_interval = "10s");
  // From now on the fixture's own calls (Status, WaitReady, WaitApplied, the nodes' stubs) carry
  // `authorization: Bearer <bearer_token>`, for clusters started with --auth required.
  void UseToken(const std::string& bearer_token);
  // Waits until `node` has applied (or, the central node, committed) at least `version`.
  bool WaitApplied(KvdProcess* node, uint64_t version, absl::Duration timeout = absl::Seconds(30));
  void TearDown() override;

  // How the fixture reaches its nodes: TLS when EnableTls was called, the token of UseToken.
  tls::ClientChannelSecurity ClientSecurity() const;

  TempDir dir_;
  std::string token_;             // set by UseToken
  std::unique_ptr<TestPki> pki_;  // set by EnableTls
  std::string tls_client_certs_;
  std::string tls_reload_interval_;
  std::unique_ptr<KvdProcess> central_;
  std::vector<std::unique_ptr<KvdProcess>> edges_;
};

// A loopback address nothing listens on (a port bound, then released).
std::string DeadAddress();

}  // namespace kv::testing

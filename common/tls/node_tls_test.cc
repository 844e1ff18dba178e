#include "common/tls/node_tls.h"

#include <gmock/gmock.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ca.h"
#include "tests/support/tls_probe.h"
#include "tests/support/wait_for.h"

namespace kv::tls {
namespace {

using ::kv::testing::CertOptions;
using ::kv::testing::KeyCert;
using ::kv::testing::ProbeOptions;
using ::kv::testing::SerialOf;
using ::kv::testing::ServedCertificate;
using ::kv::testing::TempDir;
using ::kv::testing::TestCa;
using ::kv::testing::WaitFor;
using ::kv::testing::WriteFileAtomically;
using ::testing::HasSubstr;

class NodeTlsTest : public ::testing::Test {
 protected:
  NodeTlsTest() : ca_(TestCa::Create()) {
    EXPECT_TRUE(WriteFileAtomically(ca_file(), ca_.cert_pem()).ok());
  }

  KeyCert Issue(uint64_t serial, absl::Duration not_after = absl::Hours(24)) {
    CertOptions options;
    options.common_name = "node";
    options.serial = serial;
    options.not_after = not_after;
    if (not_after < absl::ZeroDuration()) options.not_before = not_after - absl::Hours(1);
    return ca_.Issue(options);
  }
  void Install(const KeyCert& pair) {
    ASSERT_TRUE(WriteFileAtomically(key_file(), pair.key_pem).ok());
    ASSERT_TRUE(WriteFileAtomically(cert_file(), pair.cert_pem).ok());
  }
  NodeTlsOptions Options(ClientCertPolicy policy = ClientCertPolicy::kNone) {
    NodeTlsOptions options;
    options.cert_file = cert_file();
    options.key_file = key_file();
    options.ca_file = ca_file();
    options.grpc_client_certs = policy;
    options.http_client_certs = policy;
    options.reload_interval = absl::ZeroDuration();
    options.work_dir = dir_.path();
    return options;
  }
  std::unique_ptr<NodeTls> MakeTls(const NodeTlsOptions& options) {
    auto tls = NodeTls::Create(options);
    EXPECT_TRUE(tls.ok()) << tls.status();
    return tls.ok() ? std::move(*tls) : nullptr;
  }

  std::string cert_file() const { return dir_.Sub("node.pem"); }
  std::string key_file() const { return dir_.Sub("node.key"); }
  std::string ca_file() const { return dir_.Sub("ca.pem"); }

  TempDir dir_;
  TestCa ca_;
};

// A gRPC server on loopback with the node's credentials and no methods (handshakes only).
struct TlsGrpcServer {
  explicit TlsGrpcServer(NodeTls& tls) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", tls.GrpcServerCredentials(), &port);
    builder.RegisterCallbackGenericService(&generic);
    server = builder.BuildAndStart();
  }
  ~TlsGrpcServer() {
    if (server) server->Shutdown(std::chrono::system_clock::now());
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port); }

  grpc::CallbackGenericService generic;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

std::string ServedSerial(const std::string& address, const ProbeOptions& options) {
  absl::StatusOr<std::string> pem = ServedCertificate(address, options);
  return pem.ok() ? SerialOf(*pem) : absl::StrCat("error: ", pem.status().message());
}

TEST_F(NodeTlsTest, CreateRefusesWhatCannotServe) {
  KeyCert good = Issue(0x1001);
  KeyCert expired = Issue(0x1002, -absl::Hours(1));
  Install({expired.cert_pem, expired.key_pem});
  auto tls = NodeTls::Create(Options());
  ASSERT_FALSE(tls.ok());
  EXPECT_THAT(tls.status().message(), HasSubstr("expired at"));
  EXPECT_THAT(tls.status().message(), HasSubstr(cert_file()));

  Install({good.cert_pem, kv::testing::NewPrivateKeyPem()});
  tls = NodeTls::Create(Options());
  ASSERT_FALSE(tls.ok());
  EXPECT_THAT(tls.status().message(), HasSubstr("does not belong"));

  Install(good);
  NodeTlsOptions no_ca = Options(ClientCertPolicy::kRequire);
  no_ca.ca_file.clear();
  EXPECT_FALSE(NodeTls::Create(no_ca).ok());
  NodeTlsOptions no_key = Options();
  no_key.key_file.clear();
  EXPECT_FALSE(NodeTls::Create(no_key).ok());
  NodeTlsOptions missing = Options();
  missing.ca_file = dir_.Sub("nope.pem");
  tls = NodeTls::Create(missing);
  ASSERT_FALSE(tls.ok());
  EXPECT_THAT(tls.status().message(), HasSubstr("nope.pem"));
  EXPECT_TRUE(NodeTls::Create(Options()).ok());
}

TEST_F(NodeTlsTest, ReloadInstallsGoodMaterialAndKeepsTheOldOnBadMaterial) {
  Install(Issue(0x1001));
  std::unique_ptr<NodeTls> tls = MakeTls(Options());
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->State().cert.serial_hex, "1001");
  EXPECT_EQ(tls->Reload(false), NodeTls::ReloadResult::kUnchanged);
  const auto first_context = tls->HttpContext();

  Install(Issue(0x1002));
  EXPECT_EQ(tls->Reload(false), NodeTls::ReloadResult::kLoaded);
  TlsState state = tls->State();
  EXPECT_EQ(state.cert.serial_hex, "1002");
  EXPECT_EQ(state.reloads, 1u);
  EXPECT_EQ(state.reload_failures, 0u);
  EXPECT_NE(tls->HttpContext(), first_context);

  // A key that does not belong to the new certificate.
  KeyCert third = Issue(0x1003);
  Install({third.cert_pem, kv::testing::NewPrivateKeyPem()});
  EXPECT_EQ(tls->Reload(false), NodeTls::ReloadResult::kRefused);
  state = tls->State();
  EXPECT_EQ(state.cert.serial_hex, "1002");
  EXPECT_EQ(state.reload_failures, 1u);
  EXPECT_THAT(state.last_error, HasSubstr("does not belong"));
  EXPECT_GE(state.last_error_at, state.loaded_at);
  // The same refused files are not counted again by the timer, but are by a forced reload.
  EXPECT_EQ(tls->Reload(false), NodeTls::ReloadResult::kRefused);
  EXPECT_EQ(tls->State().reload_failures, 1u);
  EXPECT_EQ(tls->Reload(true), NodeTls::ReloadResult::kRefused);
  EXPECT_EQ(tls->State().reload_failures, 2u);

  Install(Issue(0x1004, -absl::Minutes(5)));
  EXPECT_EQ(tls->Reload(false), NodeTls::ReloadResult::kRefused);
  EXPECT_THAT(tls->State().last_error, HasSubstr("expired at"));

  ASSERT_EQ(::unlink(key_file().c_str()), 0);
  EXPECT_EQ(tls->Reload(false), NodeTls::ReloadResult::kRefused);
  EXPECT_THAT(tls->State().last_error, HasSubstr("cannot read"));
  EXPECT_EQ(tls->Reload(false), NodeTls::ReloadResult::kRefused);
  EXPECT_EQ(tls->State().reload_failures, 4u);

  Install(Issue(0x1005));
  EXPECT_EQ(tls->Reload(false), NodeTls::ReloadResult::kLoaded);
  state = tls->State();
  EXPECT_EQ(state.cert.serial_hex, "1005");
  EXPECT_EQ(state.reloads, 2u);
  EXPECT_GT(state.loaded_at, state.last_error_at);
}

TEST_F(NodeTlsTest, GrpcListenerServesTheReloadedCertificateAndNeverABadOne) {
  Install(Issue(0x2001));
  std::unique_ptr<NodeTls> tls = MakeTls(Options());
  ASSERT_NE(tls, nullptr);
  TlsGrpcServer server(*tls);
  ASSERT_NE(server.server, nullptr);
  ProbeOptions probe;
  probe.ca_pem = ca_.cert_pem();
  probe.server_name = "localhost";
  EXPECT_EQ(ServedSerial(server.address(), probe), "2001");

  // The upstream side of a node (an edge's channel) verifies this server and its name.
  auto channel = grpc::CreateChannel(server.address(), tls->GrpcChannelCredentials());
  EXPECT_TRUE(
      channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));

  Install(Issue(0x2002));
  ASSERT_EQ(tls->Reload(true), NodeTls::ReloadResult::kLoaded);
  EXPECT_TRUE(WaitFor([&] { return ServedSerial(server.address(), probe) == "2002"; },
                      absl::Seconds(10), absl::Milliseconds(100)))
      << ServedSerial(server.address(), probe);

  KeyCert bad = Issue(0x2003);
  Install({bad.cert_pem, kv::testing::NewPrivateKeyPem()});
  ASSERT_EQ(tls->Reload(true), NodeTls::ReloadResult::kRefused);
  // gRPC rereads its files every second: over three of its periods, still the old certificate.
  const absl::Time until = absl::Now() + absl::Seconds(3);
  while (absl::Now() < until) {
    ASSERT_EQ(ServedSerial(server.address(), probe), "2002");
    absl::SleepFor(absl::Milliseconds(250));
  }
}

TEST_F(NodeTlsTest, RequiredClientCertificatesMustChainToTheCa) {
  Install(Issue(0x3001));
  std::unique_ptr<NodeTls> tls = MakeTls(Options(ClientCertPolicy::kRequire));
  ASSERT_NE(tls, nullptr);
  TlsGrpcServer server(*tls);
  ProbeOptions probe;
  probe.ca_pem = ca_.cert_pem();
  EXPECT_THAT(ServedSerial(server.address(), probe), HasSubstr("error"));
  probe.client = Issue(0x3002);
  EXPECT_EQ(ServedSerial(server.address(), probe), "3001");
  probe.client = TestCa::Create("another CA").Issue({});
  EXPECT_THAT(ServedSerial(server.address(), probe), HasSubstr("error"));
}

TEST_F(NodeTlsTest, TheWatcherPicksUpChangedFiles) {
  Install(Issue(0x4001));
  NodeTlsOptions options = Options();
  options.reload_interval = absl::Milliseconds(20);
  std::unique_ptr<NodeTls> tls = MakeTls(options);
  ASSERT_NE(tls, nullptr);
  tls->StartWatching();
  Install(Issue(0x4002));
  EXPECT_TRUE(WaitFor([&] { return tls->State().cert.serial_hex == "4002"; }));
  tls->StopWatching();
  EXPECT_EQ(tls->State().reloads, 1u);
}

}  // namespace
}  // namespace kv::tls

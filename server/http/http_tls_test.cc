// What only the TLS transport has: handshakes that fail or stall, contexts replaced while
// connections are open (certificate rotation), client certificates, and max_connections
// without an answer. Everything else is tested over both transports (TransportTest).

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/tls/http_ssl_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_server.h"
#include "server/http/http_test_client.h"
#include "server/http/http_test_transport.h"
#include "server/http/raw_test_socket.h"
#include "tests/support/test_ca.h"
#include "tests/support/tls_probe.h"
#include "tests/support/wait_for.h"

namespace kv::server {
namespace {

using ::kv::server::testing::RawSocket;
using ::kv::server::testing::TestHttpClient;
using ::kv::server::testing::TestTlsMaterial;
using ::kv::testing::CertOptions;
using ::kv::testing::KeyCert;
using ::kv::testing::ProbeOptions;
using ::kv::testing::SerialOf;
using ::kv::testing::ServedCertificate;
using ::kv::testing::TestCa;
using ::kv::testing::WaitFor;
using ::testing::HasSubstr;

std::shared_ptr<boost::asio::ssl::context> ServerContext(
    const TestCa& ca, const KeyCert& cert,
    tls::ClientCertPolicy policy = tls::ClientCertPolicy::kNone) {
  auto context = tls::MakeHttpServerContext({cert.cert_pem, cert.key_pem, ca.cert_pem()}, policy);
  EXPECT_TRUE(context.ok()) << context.status();
  return context.ok() ? *context : nullptr;
}

KeyCert IssueSerial(const TestCa& ca, uint64_t serial) {
  CertOptions options;
  options.serial = serial;
  return ca.Issue(options);
}

// The context the server hands to new connections; replaceable while it runs.
class SwappableContext {
 public:
  explicit SwappableContext(std::shared_ptr<boost::asio::ssl::context> c)
      : context_(std::move(c)) {}
  void Set(std::shared_ptr<boost::asio::ssl::context> c) {
    absl::MutexLock lock(&mu_);
    context_ = std::move(c);
  }
  std::shared_ptr<boost::asio::ssl::context> Get() {
    absl::MutexLock lock(&mu_);
    return context_;
  }

 private:
  absl::Mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_ ABSL_GUARDED_BY(mu_);
};

HttpServerOptions TlsOptions(SwappableContext* context) {
  HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  options.tls_context = [context] { return context->Get(); };
  return options;
}

void Text(Responder& r, int status, absl::string_view text) {
  r.response().SetText(status, text);
  r.Send();
}

TEST(HttpTlsTest, PlainTextToATlsPortIsClosedAndTheServerGoesOn) {
  const TestTlsMaterial& m = TestTlsMaterial::Get();
  SwappableContext context(m.server_context);
  HttpServer server(TlsOptions(&context));
  server.Route("/x", [](const HttpRequest&, Responder r) { Text(r, 200, "x"); });
  ASSERT_TRUE(server.Start().ok());

  absl::StatusOr<RawSocket> plain = RawSocket::Connect(server.port());
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(plain->SendAll("GET /x HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  bool closed = false;
  const std::string answer = plain->ReadUntilClosed(absl::Seconds(5), &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(answer, ::testing::Not(HasSubstr("HTTP/1.1")));  // at most a TLS alert
  ASSERT_TRUE(WaitFor([&] { return server.stats().tls_handshake_failures == 1; }));
  ASSERT_TRUE(WaitFor([&] { return server.connections_open() == 0; }));

  TestHttpClient client(server.port(), TestTlsMaterial::ClientContext());
  ASSERT_TRUE(client.Connect().ok());
  auto r = client.Get("/x");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body(), "x\n");
}

TEST(HttpTlsTest, AStalledHandshakeIsClosedByTheIdleTimeout) {
  SwappableContext context(TestTlsMaterial::Get().server_context);
  HttpServerOptions options = TlsOptions(&context);
  options.idle_timeout = absl::Milliseconds(200);
  HttpServer server(options);
  ASSERT_TRUE(server.Start().ok());
  absl::StatusOr<RawSocket> silent = RawSocket::Connect(server.port());
  ASSERT_TRUE(silent.ok());
  const absl::Time start = absl::Now();
  bool closed = false;
  silent->ReadUntilClosed(absl::Seconds(5), &closed);
  EXPECT_TRUE(closed);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));
  ASSERT_TRUE(WaitFor([&] { return server.stats().tls_handshake_failures == 1; }));
  EXPECT_EQ(server.connections_open(), 0);
}

TEST(HttpTlsTest, NewConnectionsTakeAReplacedContextOpenOnesKeepTheirs) {
  TestCa ca = TestCa::Create();
  SwappableContext context(ServerContext(ca, IssueSerial(ca, 0x5001)));
  HttpServer server(TlsOptions(&context));
  server.Route("/x", [](const HttpRequest&, Responder r) { Text(r, 200, "x"); });
  ASSERT_TRUE(server.Start().ok());
  const std::string address = absl::StrCat("127.0.0.1:", server.port());
  ProbeOptions probe;
  probe.ca_pem = ca.cert_pem();
  probe.server_name = "localhost";

  auto client_context =
      std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
  client_context->add_certificate_authority(boost::asio::buffer(ca.cert_pem()));
  client_context->set_verify_mode(boost::asio::ssl::verify_peer);
  TestHttpClient before(server.port(), client_context);
  ASSERT_TRUE(before.Connect().ok());
  ASSERT_TRUE(before.Get("/x").ok());
  auto served = ServedCertificate(address, probe);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(SerialOf(*served), "5001");

  context.Set(ServerContext(ca, IssueSerial(ca, 0x5002)));
  served = ServedCertificate(address, probe);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(SerialOf(*served), "5002");
  // The connection made before the swap goes on with its own session.
  for (int i = 0; i < 3; ++i) {
    auto r = before.Get("/x");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body(), "x\n");
  }
}

TEST(HttpTlsTest, RequiredClientCertificatesAreChecked) {
  TestCa ca = TestCa::Create();
  SwappableContext context(
      ServerContext(ca, IssueSerial(ca, 0x6001), tls::ClientCertPolicy::kRequire));
  HttpServer server(TlsOptions(&context));
  server.Route("/x", [](const HttpRequest&, Responder r) { Text(r, 200, "x"); });
  ASSERT_TRUE(server.Start().ok());
  const std::string address = absl::StrCat("127.0.0.1:", server.port());
  ProbeOptions probe;
  probe.ca_pem = ca.cert_pem();
  EXPECT_FALSE(ServedCertificate(address, probe).ok());  // no client certificate
  probe.client = TestCa::Create("stranger").Issue({});
  EXPECT_FALSE(ServedCertificate(address, probe).ok());  // from another CA
  probe.client = ca.Issue({});
  EXPECT_TRUE(ServedCertificate(address, probe).ok());
  ASSERT_TRUE(WaitFor([&] { return server.stats().tls_handshake_failures == 2; }));
}

TEST(HttpTlsTest, ConnectionsBeyondMaxAreClosedWithoutAnAnswer) {
  SwappableContext context(TestTlsMaterial::Get().server_context);
  HttpServerOptions options = TlsOptions(&context);
  options.max_connections = 1;
  HttpServer server(options);
  server.Route("/x", [](const HttpRequest&, Responder r) { Text(r, 200, "x"); });
  ASSERT_TRUE(server.Start().ok());
  TestHttpClient admitted(server.port(), TestTlsMaterial::ClientContext());
  ASSERT_TRUE(admitted.Connect().ok());
  ASSERT_TRUE(admitted.Get("/x").ok());
  TestHttpClient extra(server.port(), TestTlsMaterial::ClientContext());
  EXPECT_FALSE(extra.Connect().ok() && extra.Get("/x").ok());
  EXPECT_EQ(server.stats().connections_refused, 1u);
  EXPECT_TRUE(admitted.Get("/x").ok());
}

}  // namespace
}  // namespace kv::server

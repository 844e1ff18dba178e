#pragma once
// For tests: runs a test over plain HTTP and over TLS. A TransportTest's LocalOptions() gives the
// server the transport of the test's parameter, and ClientTls() the client side (null = plain).
// The TLS material (a throw-away CA and a certificate for 127.0.0.1 / localhost) is made once
// per process.
//
//   class MyTest : public TransportTest {};
//   TEST_P(MyTest, Works) {
//     HttpServer server(LocalOptions());
//     ...
//     TestHttpClient client(server.port(), ClientTls());
//   }
//   INSTANTIATE_TEST_SUITE_P(Transports, MyTest, AllTransports(), TransportName);

#include <gtest/gtest.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "common/tls/http_ssl_context.h"
#include "server/http/http_server.h"
#include "tests/support/test_ca.h"

namespace kv::server::testing {

enum class Transport { kPlain, kTls };

struct TestTlsMaterial {
  ::kv::testing::TestCa ca;
  ::kv::testing::KeyCert server;
  std::shared_ptr<boost::asio::ssl::context> server_context;

  static const TestTlsMaterial& Get() {
    static const TestTlsMaterial* material = [] {
      auto* m = new TestTlsMaterial{::kv::testing::TestCa::Create("http test CA"), {}, nullptr};
      ::kv::testing::CertOptions options;
      options.common_name = "http-test";
      m->server = m->ca.Issue(options);
      auto context = ::kv::tls::MakeHttpServerContext(
          {m->server.cert_pem, m->server.key_pem, m->ca.cert_pem()},
          ::kv::tls::ClientCertPolicy::kNone);
      if (!context.ok()) std::abort();
      m->server_context = *context;
      return m;
    }();
    return *material;
  }

  // A client context that trusts the test CA only.
  static std::shared_ptr<boost::asio::ssl::context> ClientContext() {
    auto context =
        std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    const std::string& ca = Get().ca.cert_pem();
    context->add_certificate_authority(boost::asio::buffer(ca));
    context->set_verify_mode(boost::asio::ssl::verify_peer);
    return context;
  }
};

class TransportTest : public ::testing::TestWithParam<Transport> {
 protected:
  bool tls() const { return GetParam() == Transport::kTls; }

  // 127.0.0.1:0 with `threads` threads, over the test's transport.
  HttpServerOptions LocalOptions(int threads = 1) const {
    HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = threads;
    if (tls()) {
      auto context = TestTlsMaterial::Get().server_context;
      options.tls_context = [context] { return context; };
    }
    return options;
  }
  // The client side of the transport: null for plain HTTP.
  std::shared_ptr<boost::asio::ssl::context> ClientTls() const {
    return tls() ? TestTlsMaterial::ClientContext() : nullptr;
  }
};

inline auto AllTransports() { return ::testing::Values(Transport::kPlain, Transport::kTls); }

inline std::string TransportName(const ::testing::TestParamInfo<Transport>& info) {
  return info.param == Transport::kTls ? "Tls" : "Plain";
}

}  // namespace kv::server::testing

#include "common/tls/http_ssl_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>

#include "absl/strings/str_cat.h"

namespace kv::tls {

namespace ssl = boost::asio::ssl;

absl::StatusOr<std::shared_ptr<ssl::context>> MakeHttpServerContext(const PemMaterial& material,
                                                                    ClientCertPolicy policy) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  if (!ec) ctx->use_certificate_chain(boost::asio::buffer(material.cert_chain), ec);
  if (ec) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("http: cannot use the certificate chain: ", ec.message()));
  }
  ctx->use_private_key(boost::asio::buffer(material.private_key), ssl::context::pem, ec);
  if (ec) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("http: cannot use the key: ", ec.message()));
  }
  if (policy != ClientCertPolicy::kNone) {
    if (material.ca.empty()) {
      return absl::InvalidArgumentError("http: client certificates need a CA (--tls-ca)");
    }
    ctx->add_certificate_authority(boost::asio::buffer(material.ca), ec);
    if (ec) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("http: cannot use the CA: ", ec.message()));
    }
    ssl::verify_mode mode = ssl::verify_peer;
    if (policy == ClientCertPolicy::kRequire) mode |= ssl::verify_fail_if_no_peer_cert;
    ctx->set_verify_mode(mode, ec);
    // Session resumption with client verification needs an id context; without one OpenSSL
    // fails resumed handshakes.
    static const unsigned char kSessionContext[] = "kvd-http";
    SSL_CTX_set_session_id_context(native, kSessionContext, sizeof(kSessionContext) - 1);
  }
  if (ec) {
    ERR_clear_error();
    return absl::InternalError(absl::StrCat("http: cannot configure TLS: ", ec.message()));
  }
  return ctx;
}

}  // namespace kv::tls

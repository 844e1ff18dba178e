#include "server/http/http_accept.h"

#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace kv::server {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

// "ipv4:127.0.0.1:5555" / "ipv6:[::1]:5555", like gRPC's peer strings.
std::string PeerString(const tcp::endpoint& endpoint) {
  const asio::ip::address address = endpoint.address();
  if (address.is_v4()) return absl::StrCat("ipv4:", address.to_string(), ":", endpoint.port());
  return absl::StrCat("ipv6:[", address.to_string(), "]:", endpoint.port());
}

void OnAcceptError(HttpServer::Shared* shared, const boost::system::error_code& ec) {
  shared->accept_errors.fetch_add(1, std::memory_order_relaxed);
  if (const uint64_t n = shared->accept_error_log.Occurred(absl::Now())) {
    KV_LOG(WARN) << "http accept failed: " << ec.message() << " (" << n
                 << " failure(s) since the last report); retrying every "
                 << std::chrono::milliseconds(kAcceptRetryDelay).count() << " ms";
  }
  // Out of descriptors and the like: back off instead of spinning, and never give up.
  auto timer =
      std::make_shared<HttpTimer>(shared->loops[0]->context.get_executor(), kAcceptRetryDelay);
  timer->async_wait([shared, timer](boost::system::error_code wait_ec) {
    if (!wait_ec && shared->acceptor->is_open()) AcceptConnections(shared);
  });
}

void OnRefused(HttpServer::Shared* shared, const std::string& peer) {
  shared->refused.fetch_add(1, std::memory_order_relaxed);
  if (const uint64_t n = shared->refusal_log.Occurred(absl::Now())) {
    KV_LOG(WARN) << "http: " << shared->options.max_connections
                 << " connections open (max_connections); refused " << n
                 << " connection(s) since the last report, the latest from " << peer;
  }
}

}  // namespace

void AcceptConnections(HttpServer::Shared* shared) {
  HttpLoop* loop = shared->loops[shared->next_loop].get();
  shared->next_loop = (shared->next_loop + 1) % shared->loops.size();
  shared->accepting.emplace(loop->context.get_executor());
  shared->acceptor->async_accept(*shared->accepting, [shared, loop](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted || !shared->acceptor->is_open()) return;
    if (ec) {
      OnAcceptError(shared, ec);
      return;
    }
    HttpSocket socket = std::move(*shared->accepting);
    boost::system::error_code option_ec;
    socket.set_option(tcp::no_delay(true), option_ec);
    const tcp::endpoint remote = socket.remote_endpoint(option_ec);
    std::shared_ptr<asio::ssl::context> tls_context;
    if (shared->options.tls_context) tls_context = shared->options.tls_context();
    auto connection = std::make_shared<HttpConnection>(
        shared->shared_from_this(), loop, std::move(socket),
        option_ec ? std::string("unknown") : PeerString(remote), std::move(tls_context));
    switch (connection->Register()) {
      case HttpConnection::Admission::kAdmitted:
        shared->accepted.fetch_add(1, std::memory_order_relaxed);
        asio::post(connection->executor(), [connection] { connection->Start(); });
        break;
      case HttpConnection::Admission::kFull:
        OnRefused(shared, connection->peer());  // counted before the client can see the close
        connection->Refuse();
        break;
      case HttpConnection::Admission::kDraining:
        break;  // closed by Register
    }
    AcceptConnections(shared);
  });
}

}  // namespace kv::server

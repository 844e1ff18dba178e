#include "server/resp/resp_accept.h"

#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <utility>

#include "absl/time/clock.h"
#include "common/log.h"

namespace kv::server::resp {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

void OnAcceptError(RespShared* shared, const boost::system::error_code& ec) {
  shared->state.accept_errors.fetch_add(1, std::memory_order_relaxed);
  if (const uint64_t n = shared->accept_error_log.Occurred(absl::Now())) {
    KV_LOG(WARN) << "resp accept failed: " << ec.message() << " (" << n
                 << " failure(s) since the last report); retrying every "
                 << std::chrono::milliseconds(kAcceptRetryDelay).count() << " ms";
  }
  auto timer =
      std::make_shared<RespTimer>(shared->loops[0]->context.get_executor(), kAcceptRetryDelay);
  timer->async_wait([shared, timer](boost::system::error_code wait_ec) {
    if (!wait_ec && shared->acceptor->is_open()) AcceptSessions(shared);
  });
}

void OnRefused(RespShared* shared) {
  shared->state.connections_refused.fetch_add(1, std::memory_order_relaxed);
  if (const uint64_t n = shared->refusal_log.Occurred(absl::Now())) {
    KV_LOG(WARN) << "resp: " << shared->state.options.max_connections
                 << " connections open (max_connections); refused " << n
                 << " connection(s) since the last report";
  }
}

}  // namespace

void AcceptSessions(RespShared* shared) {
  RespLoop* loop = shared->loops[shared->next_loop].get();
  shared->next_loop = (shared->next_loop + 1) % shared->loops.size();
  shared->accepting.emplace(loop->context.get_executor());
  shared->acceptor->async_accept(*shared->accepting, [shared, loop](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted || !shared->acceptor->is_open()) return;
    if (ec) {
      OnAcceptError(shared, ec);
      return;
    }
    RespSocket socket = std::move(*shared->accepting);
    boost::system::error_code option_ec;
    socket.set_option(tcp::no_delay(true), option_ec);
    auto session = std::make_shared<Session>(shared->shared_from_this(), loop, std::move(socket));
    switch (session->Register()) {
      case Session::Admission::kAdmitted:
        shared->state.connections_accepted.fetch_add(1, std::memory_order_relaxed);
        asio::post(session->executor(), [session] { session->Start(); });
        break;
      case Session::Admission::kFull:
        OnRefused(shared);  // counted before the client can see the close
        session->Refuse();
        break;
      case Session::Admission::kDraining:
        break;  // closed by Register
    }
    AcceptSessions(shared);
  });
}

}  // namespace kv::server::resp

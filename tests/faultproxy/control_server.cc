#include "tests/faultproxy/control_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <list>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tests/faultproxy/address.h"
#include "tests/faultproxy/control_command.h"

namespace kv::testing {
namespace {

using tcp = boost::asio::ip::tcp;

// Longer lines are answered with an error and the connection is closed.
constexpr size_t kMaxLineBytes = 4096;

}  // namespace

class ControlServer::Impl {
 public:
  Impl(FaultProxy* proxy, std::string listen_address)
      : proxy_(proxy),
        listen_address_(std::move(listen_address)),
        work_(boost::asio::make_work_guard(io_)),
        acceptor_(io_) {}

  absl::Status Start() {
    absl::StatusOr<HostPort> hp = ParseHostPort(listen_address_);
    if (!hp.ok()) return hp.status();
    host_ = hp->host;
    boost::system::error_code ec;
    tcp::resolver resolver(io_);
    auto eps = resolver.resolve(hp->host, std::to_string(hp->port), tcp::resolver::passive, ec);
    if (ec || eps.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot resolve control address ", listen_address_, ": ", ec.message()));
    }
    const tcp::endpoint ep = eps.begin()->endpoint();
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", listen_address_, ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    DoAccept();
    thread_ = std::thread([this] { io_.run(); });
    return absl::OkStatus();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    boost::asio::post(io_, [this] {
      stopping_ = true;
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      for (Conn& c : conns_) c.socket.close(ignored);
      work_.reset();
    });
    thread_.join();
  }

  uint16_t port() const { return port_; }
  const std::string& host() const { return host_; }

 private:
  // One control connection; lives in conns_ until it ends. Loop only.
  struct Conn {
    explicit Conn(tcp::socket s) : socket(std::move(s)), in(kMaxLineBytes) {}
    tcp::socket socket;
    boost::asio::streambuf in;
    std::string out;
  };
  using ConnIt = std::list<Conn>::iterator;

  void DoAccept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (stopping_ || ec == boost::asio::error::operation_aborted) return;
      if (!ec) {
        conns_.emplace_front(std::move(socket));
        ReadLine(conns_.begin());
      }
      DoAccept();
    });
  }

  void ReadLine(ConnIt c) {
    boost::asio::async_read_until(
        c->socket, c->in, '\n', [this, c](const boost::system::error_code& ec, size_t n) {
          if (stopping_) return;
          if (ec == boost::asio::error::not_found) {
            Answer(c, "error line too long", /*then_close=*/true);
            return;
          }
          if (ec) {
            End(c);
            return;
          }
          std::string line(boost::asio::buffers_begin(c->in.data()),
                           boost::asio::buffers_begin(c->in.data()) + n - 1);
          c->in.consume(n);
          if (line == "quit" || line == "quit\r") {
            Answer(c, "ok bye", /*then_close=*/true);
            return;
          }
          Answer(c, ExecuteControlCommand(*proxy_, line), /*then_close=*/false);
        });
  }

  void Answer(ConnIt c, std::string answer, bool then_close) {
    c->out = std::move(answer);
    c->out.push_back('\n');
    boost::asio::async_write(c->socket, boost::asio::buffer(c->out),
                             [this, c, then_close](const boost::system::error_code& ec, size_t) {
                               if (stopping_) return;
                               if (ec || then_close) {
                                 End(c);
                               } else {
                                 ReadLine(c);
                               }
                             });
  }

  void End(ConnIt c) {
    boost::system::error_code ignored;
    c->socket.close(ignored);
    conns_.erase(c);
  }

  FaultProxy* const proxy_;
  const std::string listen_address_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  std::string host_;
  uint16_t port_ = 0;
  std::thread thread_;
  // Loop only.
  std::list<Conn> conns_;
  bool stopping_ = false;
};

ControlServer::ControlServer(FaultProxy* proxy, std::string listen_address)
    : impl_(std::make_unique<Impl>(proxy, std::move(listen_address))) {}

ControlServer::~ControlServer() { Stop(); }

absl::Status ControlServer::Start() { return impl_->Start(); }

void ControlServer::Stop() { impl_->Stop(); }

uint16_t ControlServer::port() const { return impl_->port(); }

std::string ControlServer::listen_address() const {
  return FormatHostPort(impl_->host(), impl_->port());
}

}  // namespace kv::testing

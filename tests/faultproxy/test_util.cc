#include "tests/faultproxy/test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"

namespace kv::testing {

using tcp = boost::asio::ip::tcp;

// ---- EchoServer ----

namespace {

class EchoConn : public std::enable_shared_from_this<EchoConn> {
 public:
  explicit EchoConn(tcp::socket s) : socket_(std::move(s)) {}
  void Read() {
    socket_.async_read_some(boost::asio::buffer(buf_), [self = shared_from_this()](
                                                           boost::system::error_code ec, size_t n) {
      if (n > 0) {
        boost::asio::async_write(self->socket_, boost::asio::buffer(self->buf_, n),
                                 [self, ec](boost::system::error_code wec, size_t) {
                                   if (!wec && !ec) self->Read();
                                   if (!wec && ec == boost::asio::error::eof) self->Shut();
                                 });
      } else if (ec == boost::asio::error::eof) {
        self->Shut();
      }
    });
  }

 private:
  void Shut() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }
  tcp::socket socket_;
  char buf_[16 * 1024];
};

}  // namespace

class EchoServer::Impl {
 public:
  Impl() : work_(boost::asio::make_work_guard(io_)), acceptor_(io_) {}
  ~Impl() {
    if (thread_.joinable()) {
      io_.stop();
      thread_.join();
    }
  }
  absl::Status Start() {
    boost::system::error_code ec;
    tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(128, ec);
    if (ec) return absl::UnavailableError(ec.message());
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return absl::OkStatus();
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      accepted_++;
      std::make_shared<EchoConn>(std::move(s))->Read();
      Accept();
    });
  }
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

EchoServer::EchoServer() : impl_(std::make_unique<Impl>()) {}
EchoServer::~EchoServer() = default;
absl::Status EchoServer::Start() { return impl_->Start(); }
uint16_t EchoServer::port() const { return impl_->port(); }
std::string EchoServer::address() const { return absl::StrCat("127.0.0.1:", impl_->port()); }
int EchoServer::connections_accepted() const { return impl_->accepted(); }

// ---- TestClient ----

namespace {

// Waits until fd is readable or the deadline passes; false on timeout.
bool WaitReadable(int fd, absl::Time deadline) {
  while (true) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd pfd{fd, POLLIN, 0};
    int ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    int r = poll(&pfd, 1, ms);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return true;  // let recv() report the error
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestClient>> TestClient::Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::string err = strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect: ", err));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return std::unique_ptr<TestClient>(new TestClient(fd));
}

TestClient::~TestClient() { close(fd_); }

absl::Status TestClient::SendAll(absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> TestClient::ReadExactly(size_t n, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string out;
  out.reserve(n);
  char buf[64 * 1024];
  while (out.size() < n) {
    if (!WaitReadable(fd_, deadline)) {
      return absl::DeadlineExceededError(absl::StrCat("read ", out.size(), " of ", n, " bytes"));
    }
    ssize_t r = recv(fd_, buf, std::min(sizeof(buf), n - out.size()), 0);
    if (r == 0) return absl::UnavailableError(absl::StrCat("EOF after ", out.size(), " bytes"));
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return absl::UnavailableError(absl::StrCat("recv: ", strerror(errno)));
    }
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

absl::StatusOr<std::string> TestClient::ReadFor(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string out;
  char buf[64 * 1024];
  while (WaitReadable(fd_, deadline)) {
    ssize_t r = recv(fd_, buf, sizeof(buf), 0);
    if (r == 0) return absl::UnavailableError("EOF");
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return absl::UnavailableError(absl::StrCat("recv: ", strerror(errno)));
    }
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

absl::StatusOr<std::string> TestClient::ReadLine(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string out;
  while (true) {
    if (!WaitReadable(fd_, deadline)) return absl::DeadlineExceededError("no full line: " + out);
    char ch;
    ssize_t r = recv(fd_, &ch, 1, 0);
    if (r == 0) return absl::UnavailableError("EOF before end of line: " + out);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return absl::UnavailableError(absl::StrCat("recv: ", strerror(errno)));
    }
    if (ch == '\n') return out;
    out.push_back(ch);
  }
}

TestClient::End TestClient::WaitForEnd(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  char buf[64 * 1024];
  while (WaitReadable(fd_, deadline)) {
    ssize_t r = recv(fd_, buf, sizeof(buf), 0);
    if (r == 0) return End::kEof;
    if (r < 0 && errno != EINTR && errno != EAGAIN) return End::kReset;
  }
  return End::kStillOpen;
}

void TestClient::ShutdownWrite() { shutdown(fd_, SHUT_WR); }

FaultProxyOptions ProxyTo(std::string target, std::string listen) {
  FaultProxyOptions options;
  options.target_address = std::move(target);
  options.listen_address = std::move(listen);
  return options;
}

std::string TestPattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

}  // namespace kv::testing

#include "client/testing/hang_up_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace kv::client::testing {
namespace {

// How often blocked reads and accepts look at the stop flag.
constexpr int kPollMillis = 20;

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, kPollMillis) > 0;
}

}  // namespace

HangUpServer::HangUpServer(std::string marker) : marker_(std::move(marker)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return;
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

HangUpServer::~HangUpServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::string HangUpServer::address() const { return absl::StrCat("127.0.0.1:", port_); }

void HangUpServer::Serve() {
  // An HTTP/2 SETTINGS frame with no settings: length 0, type 4, no flags, stream 0.
  static constexpr char kEmptySettings[9] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
  while (!stop_) {
    if (!Readable(listen_fd_)) continue;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    if (::write(fd, kEmptySettings, sizeof(kEmptySettings)) == sizeof(kEmptySettings) &&
        ReadUntilMarker(fd)) {
      ++hang_ups_;
    }
    ::close(fd);
  }
}

bool HangUpServer::ReadUntilMarker(int fd) {
  std::string received;
  char buffer[4096];
  while (!stop_) {
    if (!Readable(fd)) continue;
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n <= 0) return false;
    received.append(buffer, static_cast<size_t>(n));
    if (received.find(marker_) != std::string::npos) return true;
  }
  return false;
}

}  // namespace kv::client::testing

#pragma once
// For tests: a plain blocking TCP client socket on 127.0.0.1 with poll()-bounded reads, for what
// TestHttpClient cannot do: a small receive buffer set before connecting (a client that does not
// read), reading exactly what the server sends until it closes, and using no descriptor beyond
// its own (no io_context), which the descriptor-exhaustion test relies on.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kv::server::testing {

class RawSocket {
 public:
  RawSocket() = default;
  RawSocket(RawSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  RawSocket& operator=(RawSocket&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~RawSocket() { Close(); }

  // Connects to 127.0.0.1:port. receive_buffer > 0 sets SO_RCVBUF first (the kernel doubles it
  // and applies its minimum).
  static absl::StatusOr<RawSocket> Connect(int port, int receive_buffer = 0) {
    RawSocket s;
    s.fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s.fd_ < 0) return Errno("socket");
    if (receive_buffer > 0 &&
        setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer)) != 0) {
      return Errno("setsockopt(SO_RCVBUF)");
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s.fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      return Errno("connect");
    }
    return s;
  }

  absl::Status SendAll(absl::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Errno("send");
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  // Reads what arrives within `timeout`, up to `max` bytes: at least one byte unless the peer
  // closed (then "" and *closed = true) or the time ran out (DeadlineExceeded).
  absl::StatusOr<std::string> ReadSome(size_t max, absl::Duration timeout, bool* closed) {
    *closed = false;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
    if (ready < 0) return Errno("poll");
    if (ready == 0) return absl::DeadlineExceededError("nothing to read");
    std::string data(max, '\0');
    const ssize_t n = ::recv(fd_, data.data(), data.size(), 0);
    if (n <= 0) {
      *closed = true;  // EOF, or reset by the peer
      return std::string();
    }
    data.resize(static_cast<size_t>(n));
    return data;
  }

  // Reads until the peer closes the connection or `timeout` passes. *closed tells which.
  std::string ReadUntilClosed(absl::Duration timeout, bool* closed) {
    std::string all;
    const absl::Time deadline = absl::Now() + timeout;
    *closed = false;
    while (!*closed) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      absl::StatusOr<std::string> piece = ReadSome(64 * 1024, left, closed);
      if (!piece.ok()) break;
      all += *piece;
    }
    return all;
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }

 private:
  static absl::Status Errno(absl::string_view what) {
    return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
  }

  int fd_ = -1;
};

}  // namespace kv::server::testing

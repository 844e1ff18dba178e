#pragma once
// A 127.0.0.1 port that plays a node dying in the middle of a call: it accepts connections,
// speaks just enough HTTP/2 for a gRPC client to consider the connection ready (one empty
// SETTINGS frame), reads what the client sends, and closes the connection as soon as the bytes
// received contain `marker` (e.g. a key in a Put). The client has then certainly sent its
// request and gets no answer: the outcome of its write is unknown.
//
// One thread accepts and serves connections one at a time; it stops in the destructor.

#include <atomic>
#include <string>
#include <thread>

namespace kv::client::testing {

class HangUpServer {
 public:
  explicit HangUpServer(std::string marker);
  ~HangUpServer();
  HangUpServer(const HangUpServer&) = delete;
  HangUpServer& operator=(const HangUpServer&) = delete;

  // False when the socket could not be set up.
  bool ok() const { return port_ != 0; }
  std::string address() const;
  // Connections closed after the marker arrived.
  int hang_ups() const { return hang_ups_.load(); }

 private:
  void Serve();
  // Reads from `fd` until the marker arrives (true), or the peer closes or Stop() (false).
  bool ReadUntilMarker(int fd);

  const std::string marker_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> hang_ups_{0};
  std::thread thread_;
};

}  // namespace kv::client::testing

#pragma once
// Test helpers for the fault proxy: an echo server on 127.0.0.1:0 and a blocking client whose
// every wait is bounded by a deadline, so a broken proxy fails a test instead of hanging it.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/faultproxy/fault_proxy.h"

namespace kv::testing {

// Echoes every byte back on the same connection; passes on a half-close. Own io thread.
class EchoServer {
 public:
  EchoServer();
  ~EchoServer();  // stops and joins
  absl::Status Start();
  uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"
  int connections_accepted() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// A blocking TCP client over a plain socket.
class TestClient {
 public:
  static absl::StatusOr<std::unique_ptr<TestClient>> Connect(uint16_t port);
  ~TestClient();

  absl::Status SendAll(absl::string_view data);
  // Reads exactly n bytes, or fails with DEADLINE_EXCEEDED (timeout), or UNAVAILABLE (the
  // peer closed or reset the connection first).
  absl::StatusOr<std::string> ReadExactly(size_t n, absl::Duration timeout);
  // Reads whatever arrives within `timeout` (possibly nothing); fails if the connection ends.
  absl::StatusOr<std::string> ReadFor(absl::Duration timeout);

  // Reads up to and without the next '\n' (one byte at a time: for line protocols only).
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout);

  enum class End { kEof, kReset, kStillOpen };
  // Waits up to `timeout` for the connection to end; discards data that arrives meanwhile.
  End WaitForEnd(absl::Duration timeout);
  void ShutdownWrite();

 private:
  explicit TestClient(int fd) : fd_(fd) {}
  int fd_;
};

// Options for a proxy from `listen` to `target`, all else default.
FaultProxyOptions ProxyTo(std::string target, std::string listen = "127.0.0.1:0");

// `n` bytes of a deterministic pseudo-random pattern.
std::string TestPattern(size_t n, uint32_t seed);

}  // namespace kv::testing

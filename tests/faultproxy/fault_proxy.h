#pragma once
// FaultProxy: a TCP proxy for fault-injection tests. It listens on a local address, forwards
// every accepted connection to one target HOST:PORT, and lets a test inject faults while it
// runs: one-way delay with jitter, a bandwidth cap, pauses, cut connections and refused
// connects. It knows nothing about the bytes it carries (gRPC/HTTP/2 passes through untouched).
//
//   FaultProxy proxy({.target_address = absl::StrCat("127.0.0.1:", server_port)});
//   ASSERT_TRUE(proxy.Start().ok());
//   ConnectClientTo(proxy.listen_address());
//   proxy.SetDelay(Direction::kServerToClient, absl::Milliseconds(100));
//   proxy.CutAll();
//
// All public methods are thread-safe. A fault applies from the moment its setter returns to
// every byte not yet forwarded, on existing and new connections alike (a lowered delay also
// releases bytes already waiting). The proxy runs one io_context thread of its own.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/faultproxy/faults.h"

namespace kv::testing {

namespace internal {
class ProxyCore;
}  // namespace internal

struct FaultProxyOptions {
  // Where clients connect; port 0 picks a free port (see FaultProxy::port()).
  std::string listen_address = "127.0.0.1:0";
  // HOST:PORT every accepted connection is forwarded to. Required; resolved once at Start().
  std::string target_address;
  // Seed of the jitter samples, so a run can be repeated.
  uint64_t seed = 1;
  // Largest single read from a socket. One read is one chunk for delay purposes.
  size_t read_chunk_bytes = 64 * 1024;
  // Bytes one connection holds per direction before it stops reading, so the sender feels
  // TCP backpressure instead of the proxy buffering without bound.
  size_t max_queued_bytes = 8 * 1024 * 1024;
  // Faults in force from the first connection on.
  FaultSettings initial_faults;
};

class FaultProxy {
 public:
  explicit FaultProxy(FaultProxyOptions options);
  // Calls Stop().
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // Binds the listener, resolves the target and starts the io thread. Fails if the listen
  // address cannot be bound or the target cannot be resolved. Call once. Start() and Stop()
  // belong to the owner's thread; every other method may be called from any thread.
  absl::Status Start();
  // Closes the listener and every connection (FIN, not RST), and joins the io thread.
  // Idempotent. Faults set before Start() are kept.
  void Stop();

  // The bound port and "host:port" clients should connect to; valid after Start().
  uint16_t port() const { return port_; }
  std::string listen_address() const;
  const std::string& target_address() const { return options_.target_address; }

  // One-way delay of `dir`: each chunk waits delay + uniform[-jitter, +jitter] after arrival
  // (never less than 0), and never leaves before the chunk ahead of it.
  void SetDelay(Direction dir, absl::Duration delay, absl::Duration jitter = absl::ZeroDuration());
  // Caps `dir` at bytes_per_second over all connections together; 0 = unlimited.
  void SetBandwidth(Direction dir, uint64_t bytes_per_second);
  // Holds bytes (both directions, or one) without closing anything; Resume lets them flow in
  // order. While paused each connection buffers up to max_queued_bytes, then TCP pushes back.
  void Pause();
  void Pause(Direction dir);
  void Resume();
  void Resume(Direction dir);
  // While on, new connections are accepted and reset at once (the client sees a reset or EOF);
  // existing connections are not affected.
  void RefuseNew(bool refuse);
  // Replaces every fault at once; ClearFaults() restores the no-fault state.
  void SetFaults(const FaultSettings& faults);
  void ClearFaults() { SetFaults(FaultSettings()); }
  FaultSettings faults() const;

  // Resets every current connection (RST to both peers) and returns how many there were.
  // Blocks until they are closed. New connections are accepted as usual.
  int CutAll();

  FaultProxyStats stats() const;

 private:
  const FaultProxyOptions options_;
  std::unique_ptr<internal::ProxyCore> core_;
  std::thread thread_;
  uint16_t port_ = 0;
  bool started_ = false;
  // Between a successful Start() and Stop(); read by CutAll() from other threads.
  std::atomic<bool> running_{false};
};

}  // namespace kv::testing

#pragma once
// A TCP control socket for a FaultProxy, so another process (a test script, a shell with nc)
// can inject faults: one command per line, one answer line per command (see
// control_command.h). "quit" closes the control connection. Runs its own io thread.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "tests/faultproxy/fault_proxy.h"

namespace kv::testing {

class ControlServer {
 public:
  // `proxy` must outlive the server. Port 0 in `listen_address` picks a free port.
  ControlServer(FaultProxy* proxy, std::string listen_address = "127.0.0.1:0");
  // Calls Stop().
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  absl::Status Start();
  // Closes the listener and every control connection; joins the thread. Idempotent.
  void Stop();

  uint16_t port() const;
  // "127.0.0.1:PORT"; valid after Start().
  std::string listen_address() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kv::testing

#pragma once
// The fault proxy's line-based control language, shared by the control socket and tests.
// One command per line; every answer is one line starting with "ok" or "error".
//
//   delay c2s|s2c|both DELAY [JITTER]   one-way delay, e.g. "delay s2c 100ms 10ms"
//   bandwidth c2s|s2c|both SIZE|off     cap per second, e.g. "bandwidth c2s 1MiB" ("/s" optional)
//   pause [c2s|s2c|both]                hold bytes (default both directions)
//   resume [c2s|s2c|both]               let held bytes flow, in order
//   cut                                 reset every current connection -> "ok cut=N"
//   refuse on|off                       reset new connections at accept
//   clear                               remove every fault
//   show                                -> "ok c2s_delay=... refuse_new=0" (FaultSettings)
//   stats                               -> "ok accepted=... s2c_bytes=..." (FaultProxyStats)
//   ping                                -> "ok pong"
//   help                                -> "ok <command list>"

#include <string>

#include "absl/strings/string_view.h"
#include "tests/faultproxy/fault_proxy.h"

namespace kv::testing {

// Runs one command line (without its newline) against `proxy` and returns the answer line
// (without newline). Never throws; bad input gives "error <why>".
std::string ExecuteControlCommand(FaultProxy& proxy, absl::string_view line);

}  // namespace kv::testing

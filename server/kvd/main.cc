// kvd: the key-value store's node daemon.
//   kvd central --listen 127.0.0.1:7000 --data-dir DIR
//   kvd edge --mode full|cache --upstream HOST:PORT --listen ADDR --data-dir DIR
// main() only parses flags into Options structs and hands them to the role's runner.

#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "common/build_info.h"
#include "common/log.h"
#include "server/kvd/central_main.h"
#include "server/kvd/edge_main.h"
#include "server/kvd/serve.h"

int main(int argc, char** argv) {
  kv::server::BlockShutdownSignals();
  // Debian's abseil keeps Mutex deadlock detection on; its graph bookkeeping on every Mutex
  // created per call (gRPC contexts) cost ~5% of a serving node's CPU in perf.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  CLI::App app{"kvd: a node of the replicated key-value store (central or edge)", "kvd"};
  app.set_version_flag("--version", kv::kBuildVersion);
  app.require_subcommand(1);
  kv::server::CentralFlags central_flags;
  CLI::App* central = kv::server::AddCentralCommand(&app, &central_flags);
  kv::server::EdgeFlags edge_flags;
  CLI::App* edge = kv::server::AddEdgeCommand(&app, &edge_flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; usage errors exit 2 with CLI11's message.
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (central->parsed()) return kv::server::RunCentral(central_flags);
  if (edge->parsed()) return kv::server::RunEdge(edge_flags);
  return 2;
}

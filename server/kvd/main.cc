// kvd: the key-value store's node daemon.
//   kvd central --listen 127.0.0.1:7000 --data-dir DIR
//   kvd edge --mode full|cache --upstream HOST:PORT --listen ADDR --data-dir DIR
//   kvd central --config /etc/kvd/central.toml [--print-config]
//   kvd restore --from BACKUP_DIR --data-dir DIR
// main() only parses flags (and the TOML file of --config, with the flags' names; flags given
// on the command line win) into Options structs and hands them to the role's runner.

#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "common/build_info.h"
#include "common/log.h"
#include "server/kvd/central_main.h"
#include "server/kvd/edge_main.h"
#include "server/kvd/restore_main.h"
#include "server/kvd/role_config.h"
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
  kv::server::RestoreFlags restore_flags;
  CLI::App* restore = kv::server::AddRestoreCommand(&app, &restore_flags);

  // CLI11 2.1 reads a config file only for the top-level command, so --config lives there (the
  // roles pass options they do not know up to it) and RoleConfig files every unsectioned key
  // under the role that was given: `data-dir = "..."` in the file is `kvd central --data-dir`.
  bool print_config = false;
  app.set_config("--config", "",
                 "TOML file of flags, named as on the command line without the dashes "
                 "(data-dir = \"/var/lib/kv\"); flags given on the command line override it");
  app.allow_config_extras(CLI::config_extras_mode::error);  // a misspelt key is an error
  app.config_formatter(
      std::make_shared<kv::server::RoleConfig>(std::vector<CLI::App*>{central, edge}));
  for (CLI::App* role : {central, edge}) {
    role->fallthrough();
    role->add_flag("--print-config", print_config,
                   "Print the effective configuration (file, flags and defaults) as TOML and "
                   "exit")
        ->configurable(false);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; usage errors exit 2 with CLI11's message.
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (print_config) {
    CLI::App* role = central->parsed() ? central : edge;
    std::fputs(role->config_to_str(/*default_also=*/true, /*write_description=*/false).c_str(),
               stdout);
    return 0;
  }
  if (central->parsed()) return kv::server::RunCentral(central_flags);
  if (edge->parsed()) return kv::server::RunEdge(edge_flags);
  if (restore->parsed()) return kv::server::RunRestore(restore_flags);
  return 2;
}

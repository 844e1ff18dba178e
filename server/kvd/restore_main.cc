#include "server/kvd/restore_main.h"

#include <cstdio>

#include "common/log.h"
#include "server/kvd/common_flags.h"
#include "server/storage/restore.h"

namespace kv::server {

CLI::App* AddRestoreCommand(CLI::App* app, RestoreFlags* flags) {
  CLI::App* cmd = app->add_subcommand(
      "restore",
      "Prepare a central node's data directory from a backup (kvctl admin backup): verify it, "
      "copy it, and give it a new history id; then start `kvd central --data-dir DIR`");
  cmd->add_option("--from", flags->from, "Backup directory (holds KV_BACKUP and db/)")->required();
  cmd->add_option("--data-dir", flags->data_dir,
                  "Data directory to create; must not exist (its parent must) or be empty")
      ->required();
  cmd->add_flag("-v,--verbose", flags->verbose, "Also log DEBUG lines");
  return cmd;
}

int RunRestore(const RestoreFlags& flags) {
  SetLogName("restore");
  SetLogLevel(flags.verbose ? LogLevel::kDebug : LogLevel::kInfo);
  auto restored = RestoreBackup(flags.from, flags.data_dir);
  if (!restored.ok()) return StartupFailure(restored.status());
  // The one line a script needs, on stdout; the log lines went to stderr.
  std::printf("restored version %llu of cluster %s into %s (new history %s)\n",
              static_cast<unsigned long long>(restored->backup.version),
              restored->backup.cluster_id.c_str(), flags.data_dir.c_str(),
              restored->history_id.c_str());
  return 0;
}

}  // namespace kv::server

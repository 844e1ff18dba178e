#pragma once
// `kvd restore --from BACKUP --data-dir DIR`: prepares a central node's data directory from a
// backup made by `kvctl admin backup` (server/storage/restore.h), then exits; start it with
// `kvd central --data-dir DIR`.

#include <string>

#include "CLI/CLI.hpp"

namespace kv::server {

struct RestoreFlags {
  std::string from;
  std::string data_dir;
  bool verbose = false;
};

CLI::App* AddRestoreCommand(CLI::App* app, RestoreFlags* flags);
// Returns the process exit status: 0 restored, 1 refused or failed (`kvd: <why>` on stderr).
int RunRestore(const RestoreFlags& flags);

}  // namespace kv::server

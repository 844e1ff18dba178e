#pragma once
// kvctl's subcommands. Each Add*Command registers its flags on `root` and returns what to run.

#include <CLI/CLI.hpp>

#include "client/kvctl/context.h"

namespace kv::kvctl {

Command AddPutCommand(CLI::App& root);
Command AddGetCommand(CLI::App& root);
Command AddDeleteCommand(CLI::App& root);
Command AddListCommand(CLI::App& root);
Command AddStatusCommand(CLI::App& root);
Command AddBulkPutCommand(CLI::App& root);
Command AddCommitCommand(CLI::App& root);
Command AddAuthCommand(CLI::App& root);
Command AddAdminCommand(CLI::App& root);
Command AddVerifyCommand(CLI::App& root);
Command AddWatchCommand(CLI::App& root);

// Adds "-o, --output text|json" to a subcommand.
void AddOutputFlag(CLI::App* app, std::string* output);

}  // namespace kv::kvctl

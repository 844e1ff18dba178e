// kvctl: the admin and client command line for kvstore. See docs/client.md.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <vector>

#include "client/kvctl/commands.h"
#include "client/kvctl/exit_codes.h"
#include "common/build_info.h"

namespace {

// "Usage: kvctl put [OPTIONS] KEY VALUE"
std::string ShortUsage(const CLI::App& app, const std::string& name) {
  std::string usage = "Usage: " + name + " [OPTIONS]";
  if (app.get_parent() == nullptr) usage += " COMMAND";
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_positional()) usage += " " + o->get_name();
  }
  return usage + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kv::kvctl;
  CLI::App app{"kvctl: read, write and inspect a kvstore cluster", "kvctl"};
  app.set_version_flag("--version", kv::kBuildVersion);
  app.require_subcommand(1, 1);
  app.fallthrough();  // global flags may also follow the subcommand
  Context ctx;
  AddGlobalFlags(app, &ctx.flags);
  std::vector<Command> commands = {
      AddPutCommand(app),    AddGetCommand(app),     AddDeleteCommand(app), AddListCommand(app),
      AddStatusCommand(app), AddBulkPutCommand(app), AddAuthCommand(app),   AddAdminCommand(app),
      AddVerifyCommand(app), AddCommitCommand(app),  AddWatchCommand(app)};
  for (Command& c : commands) {
    c.app->footer(
        "Global options, before or after the command: --endpoint HOST:PORT (else $KV_ENDPOINT, "
        "else 127.0.0.1:7000), --timeout DURATION (default 10s), --tls-ca/--tls-cert/--tls-key "
        "FILE (else $KV_TLS_CA, $KV_TLS_CERT, $KV_TLS_KEY), --tls-server-name NAME, --token "
        "TOKEN (else $KV_TOKEN). Exit statuses: kvctl --help.");
  }
  app.footer(
      "Exit status: 0 ok, 1 not found, 2 usage, 3 server error, 4 FAILED_PRECONDITION, "
      "5 UNAVAILABLE/DEADLINE_EXCEEDED, 6 INVALID_ARGUMENT/RESOURCE_EXHAUSTED, "
      "7 bulk-put lines not written, 8 a write's outcome unknown (it may have been applied), 9 "
      "UNAUTHENTICATED/PERMISSION_DENIED, 10 verify: checksums differ.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::vector<CLI::App*> chosen = app.get_subcommands();
    const CLI::App* sub = chosen.empty() ? &app : chosen.front();
    const std::string name = chosen.empty() ? "kvctl" : "kvctl " + sub->get_name();
    std::cerr << name << ": " << e.what() << "\n"
              << ShortUsage(*sub, name) << "Run '" << name << " --help' for more.\n";
    return kExitUsage;
  }
  ctx.io = Io{&std::cin, &std::cout, &std::cerr, ::isatty(STDERR_FILENO) == 1};
  for (Command& c : commands) {
    if (c.app->parsed()) {
      int code = c.run(ctx);
      std::cout.flush();
      return code;
    }
  }
  return kExitUsage;
}

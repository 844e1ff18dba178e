// kvctl admin backup --dest DIR [--wait 1h] [-o json]
//
// Operator actions at the central node through the Admin service (need the admin scope when
// the node requires tokens). backup: a consistent online backup of the central node's store
// into DIR on the central node's machine, while writes continue (docs/operations.md, "Backup");
// prints the version the backup holds and where it is.

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/admin_status.h"
#include "client/kvctl/commands.h"
#include "client/kvctl/exit_codes.h"
#include "common/units.h"
#include "nlohmann/json.hpp"

namespace kv::kvctl {
namespace {

struct AdminFlags {
  std::string dest;
  // Not --timeout: a backup of a large store takes far longer than one ordinary call.
  std::string wait = "1h";
  std::string output = "text";
};

int RunBackup(const AdminFlags& f, Context& ctx) {
  absl::StatusOr<absl::Duration> wait = ParseDurationFlag(f.wait);
  if (!wait.ok() || *wait <= absl::ZeroDuration()) {
    return ReportUsage(*ctx.io.err, "admin backup",
                       "--wait must be a positive duration such as 1h or 30m");
  }
  int code = kExitOk;
  std::unique_ptr<client::Client> c = Connect(ctx, "admin backup", &code);
  if (c == nullptr) return code;
  absl::StatusOr<kvstore::v1::BackupResponse> r = client::TakeBackup(*c, f.dest, *wait);
  if (!r.ok()) return ReportError(*ctx.io.err, "admin backup", r.status());
  if (f.output == "json") {
    nlohmann::json j = {{"version", r->version()},
                        {"path", r->path()},
                        {"cluster_id", r->cluster_id()},
                        {"history_id", r->history_id()},
                        {"files", r->files()},
                        {"bytes", r->bytes()},
                        {"duration_micros", r->duration_micros()}};
    *ctx.io.out << j.dump(2) << "\n";
    return kExitOk;
  }
  *ctx.io.out << "backup of version " << r->version() << " written to " << r->path() << "\n"
              << "  cluster " << r->cluster_id() << ", history " << r->history_id() << ", "
              << r->files() << " files, " << FormatByteSize(r->bytes()) << ", took "
              << absl::FormatDuration(absl::Microseconds(r->duration_micros())) << "\n"
              << "  restore with: kvd restore --from " << r->path() << " --data-dir NEW_DIR\n";
  return kExitOk;
}

}  // namespace

Command AddAdminCommand(CLI::App& root) {
  auto f = std::make_shared<AdminFlags>();
  CLI::App* app =
      root.add_subcommand("admin", "Operator actions at the central node (need the admin scope)");
  app->require_subcommand(1, 1);
  CLI::App* backup = app->add_subcommand(
      "backup",
      "Take a consistent online backup of the central node while writes continue; prints the "
      "version it holds. Restore it with `kvd restore --from DIR --data-dir NEW_DIR`");
  backup
      ->add_option("--dest", f->dest,
                   "Directory to create for the backup, an absolute path on the central "
                   "node's machine (new or empty; its parent must exist)")
      ->required();
  backup->add_option("--wait", f->wait, "How long to wait for the backup to finish")
      ->default_str("1h");
  AddOutputFlag(backup, &f->output);
  return {app, [f](Context& ctx) { return RunBackup(*f, ctx); }};
}

}  // namespace kv::kvctl

// kvctl status [-o json]

#include <memory>

#include "client/admin_status.h"
#include "client/kvctl/commands.h"
#include "client/kvctl/exit_codes.h"
#include "client/kvctl/output.h"

namespace kv::kvctl {
namespace {

struct StatusFlags {
  std::string output = "text";
};

int RunStatus(const StatusFlags& f, Context& ctx) {
  int code = kExitOk;
  std::unique_ptr<client::Client> c = Connect(ctx, "status", &code);
  if (c == nullptr) return code;
  // The full proto, not the public NodeStatus digest: kvctl prints every field.
  absl::StatusOr<kvstore::v1::StatusResponse> r = client::FetchAdminStatus(*c);
  if (!r.ok()) return ReportError(*ctx.io.err, "status", r.status());
  *ctx.io.out << (f.output == "json" ? FormatStatusJson(*r) + "\n" : FormatStatusText(*r));
  return kExitOk;
}

}  // namespace

Command AddStatusCommand(CLI::App& root) {
  auto f = std::make_shared<StatusFlags>();
  CLI::App* app = root.add_subcommand(
      "status", "Show a node's role, versions, replication, downstreams and cache statistics");
  AddOutputFlag(app, &f->output);
  return {app, [f](Context& ctx) { return RunStatus(*f, ctx); }};
}

}  // namespace kv::kvctl

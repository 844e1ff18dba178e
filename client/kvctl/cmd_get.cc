// kvctl get KEY [-o json] [--consistency strong|bounded] [--max-staleness 500ms]
//               [--min-version N] [--allow-stale]

#include <memory>

#include "absl/strings/str_cat.h"
#include "client/kvctl/commands.h"
#include "client/kvctl/exit_codes.h"
#include "client/kvctl/output.h"
#include "common/units.h"

namespace kv::kvctl {
namespace {

struct GetFlags {
  std::string key;
  std::string output = "text";
  std::string consistency = "bounded";
  std::string max_staleness;
  uint64_t min_version = 0;
  bool allow_stale = false;
};

int RunGet(const GetFlags& f, Context& ctx) {
  client::ReadOptions options;
  options.consistency =
      f.consistency == "strong" ? client::Consistency::kStrong : client::Consistency::kBounded;
  if (!f.max_staleness.empty()) {
    absl::StatusOr<absl::Duration> d = ParseDurationFlag(f.max_staleness);
    if (!d.ok()) {
      return ReportUsage(*ctx.io.err, "get",
                         absl::StrCat("--max-staleness: ", d.status().message()));
    }
    options.max_staleness = *d;
  }
  options.min_version = f.min_version;
  options.allow_stale = f.allow_stale;
  int code = kExitOk;
  std::unique_ptr<client::Client> c = Connect(ctx, "get", &code);
  if (c == nullptr) return code;
  absl::StatusOr<client::GetResult> r = c->Get(f.key, options);
  if (!r.ok()) return ReportError(*ctx.io.err, "get", r.status());
  if (f.output == "json") {
    *ctx.io.out << GetJson(f.key, *r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
  } else if (r->found) {
    // The raw bytes, nothing added, so `kvctl get k > file` round-trips `kvctl put k - < file`.
    ctx.io.out->write(r->entry.value.data(), static_cast<std::streamsize>(r->entry.value.size()));
  }
  if (!r->found) {
    *ctx.io.err << "not found\n";
    return kExitNotFound;
  }
  if (r->info.stale) {
    *ctx.io.err << "warning: stale answer (staleness " << absl::FormatDuration(r->info.staleness)
                << ", node " << r->info.node_id << ")\n";
  }
  return kExitOk;
}

}  // namespace

Command AddGetCommand(CLI::App& root) {
  auto f = std::make_shared<GetFlags>();
  CLI::App* app =
      root.add_subcommand("get", "Read KEY; prints the raw value (exit 1 if not found)");
  app->add_option("KEY", f->key, "Key")->required();
  AddOutputFlag(app, &f->output);
  app->add_option("--consistency", f->consistency,
                  "bounded: nearest node fresh within the bound; strong: the central node")
      ->check(CLI::IsMember({"bounded", "strong"}))
      ->capture_default_str();
  app->add_option("--max-staleness", f->max_staleness,
                  "Largest staleness accepted, e.g. 500ms (default: the node's bound)")
      ->type_name("DURATION");
  app->add_option("--min-version", f->min_version,
                  "The answer reflects at least this version (read-your-writes)")
      ->type_name("N");
  app->add_flag("--allow-stale", f->allow_stale,
                "Accept a stale local answer when no node within the bound can answer");
  return {app, [f](Context& ctx) { return RunGet(*f, ctx); }};
}

}  // namespace kv::kvctl

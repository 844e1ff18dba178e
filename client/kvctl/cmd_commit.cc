// kvctl commit FILE [-o json]   (FILE "-" = standard input; one JSON object, see commit_json.h)

#include <fstream>
#include <memory>

#include "client/kvctl/commands.h"
#include "client/kvctl/commit_json.h"
#include "client/kvctl/exit_codes.h"
#include "client/kvctl/output.h"

namespace kv::kvctl {
namespace {

struct CommitFlags {
  std::string file;
  std::string output = "text";
};

int RunCommit(const CommitFlags& f, Context& ctx) {
  std::string text;
  if (f.file == "-") {
    text = ReadAll(*ctx.io.in);
  } else {
    std::ifstream file(f.file, std::ios::binary);
    if (!file) return ReportUsage(*ctx.io.err, "commit", "cannot open " + f.file);
    text = ReadAll(file);
  }
  absl::StatusOr<CommitSpec> spec = ParseCommitJson(text);
  if (!spec.ok()) return ReportUsage(*ctx.io.err, "commit", spec.status().message());
  int code = kExitOk;
  std::unique_ptr<client::Client> c = Connect(ctx, "commit", &code);
  if (c == nullptr) return code;
  absl::StatusOr<client::CommitResult> r = c->Commit(spec->checks, spec->mutations);
  // A failed check is FAILED_PRECONDITION: exit 4, nothing applied.
  if (!r.ok()) return ReportError(*ctx.io.err, "commit", r.status());
  if (f.output == "json") {
    nlohmann::json obj = nlohmann::json::object();
    obj["version"] = r->version;
    obj["counters"] = r->counters;
    *ctx.io.out << obj.dump() << "\n";
  } else {
    *ctx.io.out << r->version << "\n";
    for (int64_t counter : r->counters) *ctx.io.out << "counter " << counter << "\n";
  }
  return kExitOk;
}

}  // namespace

Command AddCommitCommand(CLI::App& root) {
  auto f = std::make_shared<CommitFlags>();
  CLI::App* app = root.add_subcommand(
      "commit",
      "Apply checks and mutations of several keys atomically at the central node: all at one "
      "version, or none (exit 4 when a check fails); prints the version");
  app->add_option("FILE", f->file,
                  "One JSON object {\"checks\": [...], \"mutations\": [...]}; '-' reads "
                  "standard input")
      ->required();
  AddOutputFlag(app, &f->output);
  return {app, [f](Context& ctx) { return RunCommit(*f, ctx); }};
}

}  // namespace kv::kvctl

// kvctl bulk-put FILE [--window N]   (FILE "-" = standard input)

#include <fstream>
#include <memory>

#include "client/kvctl/bulk_put.h"
#include "client/kvctl/commands.h"
#include "client/kvctl/exit_codes.h"

namespace kv::kvctl {
namespace {

struct BulkPutFlags {
  std::string file;
  int window = 64;
};

int RunBulkPutCommand(const BulkPutFlags& f, Context& ctx) {
  std::ifstream file;
  std::istream* in = ctx.io.in;
  if (f.file != "-") {
    file.open(f.file, std::ios::binary);
    if (!file) return ReportUsage(*ctx.io.err, "bulk-put", "cannot open " + f.file);
    in = &file;
  }
  int code = kExitOk;
  std::unique_ptr<client::Client> c = Connect(ctx, "bulk-put", &code);
  if (c == nullptr) return code;
  BulkPutOptions options;
  options.window = f.window;
  options.progress = ctx.io.err_is_tty;
  BulkPutReport report = RunBulkPut(*c, *in, options, *ctx.io.err);
  PrintBulkReport(report, *ctx.io.out, *ctx.io.err);
  return BulkExitCode(report);
}

}  // namespace

Command AddBulkPutCommand(CLI::App& root) {
  auto f = std::make_shared<BulkPutFlags>();
  CLI::App* app = root.add_subcommand(
      "bulk-put",
      "Write many keys from JSON lines: {\"key\":..., \"value\":..., \"ttl\":\"30s\", "
      "\"metadata\":...}; binary as \"value_base64\"");
  app->add_option("FILE", f->file, "JSON-lines file; '-' reads standard input")->required();
  app->add_option("--window", f->window, "Puts in flight at once")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  return {app, [f](Context& ctx) { return RunBulkPutCommand(*f, ctx); }};
}

}  // namespace kv::kvctl

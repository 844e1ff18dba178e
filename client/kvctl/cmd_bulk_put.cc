// kvctl bulk-put FILE [--commit-keys N] [--commits-in-flight N] [--one-per-call --window N]
//                     [--unknown-out FILE]   (FILE "-" = standard input)

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
  bool one_per_call = false;
  int commit_keys = 1000;
  int commits_in_flight = 8;
  // Where the lines whose outcome is unknown go; empty = nowhere.
  std::string unknown_out;
};

int RunBulkPutCommand(const BulkPutFlags& f, Context& ctx) {
  std::ifstream file;
  std::istream* in = ctx.io.in;
  if (f.file != "-") {
    file.open(f.file, std::ios::binary);
    if (!file) return ReportUsage(*ctx.io.err, "bulk-put", "cannot open " + f.file);
    in = &file;
  }
  // Opened (and truncated) before anything is sent: a bad path is a usage error.
  std::ofstream unknown_out;
  if (!f.unknown_out.empty()) {
    unknown_out.open(f.unknown_out, std::ios::binary | std::ios::trunc);
    if (!unknown_out) {
      return ReportUsage(*ctx.io.err, "bulk-put", "--unknown-out: cannot write " + f.unknown_out);
    }
  }
  int code = kExitOk;
  std::unique_ptr<client::Client> c = Connect(ctx, "bulk-put", &code);
  if (c == nullptr) return code;
  BulkPutOptions options;
  options.window = f.window;
  options.one_per_call = f.one_per_call;
  options.commit_keys = f.commit_keys;
  options.commits_in_flight = f.commits_in_flight;
  options.progress = ctx.io.err_is_tty;
  options.keep_unknown_lines = unknown_out.is_open();
  BulkPutReport report = RunBulkPut(*c, *in, options, *ctx.io.err);
  PrintBulkReport(report, *ctx.io.out, *ctx.io.err);
  if (unknown_out.is_open()) {
    WriteUnknownLines(report, unknown_out);
    unknown_out.close();
    if (!unknown_out)
      *ctx.io.err << "kvctl bulk-put: --unknown-out: error writing " << f.unknown_out << "\n";
  }
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
  app->add_option("--commit-keys", f->commit_keys,
                  "Lines per commit (each commit applies its lines atomically)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app->add_option("--commits-in-flight", f->commits_in_flight, "Commits in flight at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app->add_flag("--one-per-call", f->one_per_call,
                "One Put per line (--window of them in flight) instead of commits");
  app->add_option("--window", f->window, "With --one-per-call: Puts in flight at once")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app->add_option("--unknown-out", f->unknown_out,
                  "Write the input lines whose outcome is unknown (they may have been applied) "
                  "to this file, one per line")
      ->type_name("FILE");
  return {app, [f](Context& ctx) { return RunBulkPutCommand(*f, ctx); }};
}

}  // namespace kv::kvctl

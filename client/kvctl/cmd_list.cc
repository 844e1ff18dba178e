// kvctl list [--prefix P] [--limit N] [--cursor C] [--values] [--all] [-o json]

#include <memory>

#include "absl/time/clock.h"
#include "client/kvctl/commands.h"
#include "client/kvctl/exit_codes.h"
#include "client/kvctl/output.h"

namespace kv::kvctl {
namespace {

struct ListFlags {
  std::string prefix;
  uint32_t limit = 0;
  std::string cursor;
  bool values = false;
  bool all = false;
  std::string output = "text";
};

// One line per key: KEY, version, expiration, metadata (and value), tab-separated.
void PrintText(const client::ListResult& page, bool values, std::ostream& out) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  for (const client::Entry& e : page.entries) {
    out << Printable(e.key) << "\tversion=" << e.version;
    if (e.expiration != 0) out << "\texpires=" << FormatExpiration(e.expiration, now);
    if (!e.metadata.empty()) out << "\tmetadata=" << Printable(e.metadata);
    if (values) out << "\tvalue=" << Printable(e.value);
    out << "\n";
  }
}

int RunList(const ListFlags& f, Context& ctx) {
  client::ListOptions list;
  list.prefix = f.prefix;
  list.limit = f.limit;
  list.include_values = f.values;
  if (!f.cursor.empty()) {
    absl::StatusOr<std::string> cursor = DecodeCursor(f.cursor);
    if (!cursor.ok()) return ReportUsage(*ctx.io.err, "list", cursor.status().message());
    list.cursor = *cursor;
  }
  int code = kExitOk;
  std::unique_ptr<client::Client> c = Connect(ctx, "list", &code);
  if (c == nullptr) return code;
  client::ListResult all;
  // --all follows the cursor; the safety cap only guards against a server that never ends.
  for (int page = 0; page < 1000000; ++page) {
    absl::StatusOr<client::ListResult> r = c->List(list);
    if (!r.ok()) return ReportError(*ctx.io.err, "list", r.status());
    if (f.output == "text") PrintText(*r, f.values, *ctx.io.out);
    for (auto& e : r->entries) all.entries.push_back(std::move(e));
    all.info = r->info;
    all.next_cursor = r->next_cursor;
    if (!f.all || r->next_cursor.empty()) break;
    list.cursor = r->next_cursor;
  }
  if (f.output == "json") {
    *ctx.io.out
        << ListJson(all, f.values).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
  } else if (!all.next_cursor.empty()) {
    // Keys stay alone on stdout; the way to the next page goes to stderr.
    *ctx.io.err << "next cursor: " << EncodeCursor(all.next_cursor) << "  (continue with: --cursor "
                << EncodeCursor(all.next_cursor) << ")\n";
  }
  return kExitOk;
}

}  // namespace

Command AddListCommand(CLI::App& root) {
  auto f = std::make_shared<ListFlags>();
  CLI::App* app = root.add_subcommand("list", "List keys in key order, one page at a time");
  app->add_option("--prefix", f->prefix, "Only keys starting with P")->type_name("P");
  app->add_option("--limit", f->limit, "Keys per page, 1..1000 (default: the server's, 100)")
      ->type_name("N");
  app->add_option("--cursor", f->cursor, "Continue after a previous page (its next cursor)")
      ->type_name("C");
  app->add_flag("--values", f->values, "Include values");
  app->add_flag("--all", f->all, "Follow the cursor through every page");
  AddOutputFlag(app, &f->output);
  return {app, [f](Context& ctx) { return RunList(*f, ctx); }};
}

}  // namespace kv::kvctl

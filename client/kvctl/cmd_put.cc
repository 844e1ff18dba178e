// kvctl put KEY VALUE [--ttl 30s] [--metadata STR] [--if-version N] [--expiration UNIX] [-o json]

#include <memory>

#include "client/kvctl/bulk_line.h"
#include "client/kvctl/commands.h"
#include "client/kvctl/exit_codes.h"
#include "client/kvctl/output.h"

namespace kv::kvctl {
namespace {

struct PutFlags {
  std::string key;
  std::string value;
  std::string ttl;
  std::string metadata;
  uint64_t if_version = 0;
  CLI::Option* if_version_flag = nullptr;
  int64_t expiration = 0;
  std::string output = "text";
};

int RunPut(const PutFlags& f, Context& ctx) {
  client::PutOptions options;
  options.metadata = f.metadata;
  if (f.if_version_flag->count() > 0) options.if_version = f.if_version;
  options.expiration = f.expiration;
  if (!f.ttl.empty()) {
    absl::StatusOr<absl::Duration> ttl = ParseTtl(f.ttl);
    if (!ttl.ok()) return ReportUsage(*ctx.io.err, "put", ttl.status().message());
    options.ttl = *ttl;
  }
  if (options.ttl > absl::ZeroDuration() && options.expiration != 0) {
    return ReportUsage(*ctx.io.err, "put", "--ttl and --expiration: give at most one");
  }
  // "-" reads the value from standard input, byte for byte.
  const std::string value = f.value == "-" ? ReadAll(*ctx.io.in) : f.value;
  int code = kExitOk;
  std::unique_ptr<client::Client> c = Connect(ctx, "put", &code);
  if (c == nullptr) return code;
  absl::StatusOr<client::PutResult> r = c->Put(f.key, value, options);
  if (!r.ok()) return ReportError(*ctx.io.err, "put", r.status());
  if (f.output == "json") {
    nlohmann::json obj = nlohmann::json::object();
    SetBytes(obj, "key", f.key);
    obj["version"] = r->version;
    obj["expiration"] = r->expiration;
    *ctx.io.out << obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    *ctx.io.out << r->version << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddOutputFlag(CLI::App* app, std::string* output) {
  app->add_option("-o,--output", *output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

Command AddPutCommand(CLI::App& root) {
  auto f = std::make_shared<PutFlags>();
  CLI::App* app =
      root.add_subcommand("put", "Write KEY = VALUE at the central node; prints the new version");
  app->add_option("KEY", f->key, "Key (bytes, 1..512)")->required();
  app->add_option("VALUE", f->value, "Value; '-' reads it from standard input")->required();
  app->add_option("--ttl", f->ttl, "Time to live: 30s, 5m, 1h30m or seconds (whole, >= 1s)")
      ->type_name("DURATION");
  app->add_option("--metadata", f->metadata, "Opaque metadata stored with the value")
      ->type_name("STR");
  f->if_version_flag =
      app->add_option("--if-version", f->if_version,
                      "Write only if the key is at this version (0 = only if absent)")
          ->type_name("N");
  app->add_option("--expiration", f->expiration, "Absolute expiration, Unix seconds")
      ->type_name("UNIX")
      ->check(CLI::NonNegativeNumber);
  AddOutputFlag(app, &f->output);
  return {app, [f](Context& ctx) { return RunPut(*f, ctx); }};
}

}  // namespace kv::kvctl

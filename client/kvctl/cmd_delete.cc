// kvctl delete KEY [--if-version N] [-o json]

#include <memory>

#include "client/kvctl/commands.h"
#include "client/kvctl/exit_codes.h"
#include "client/kvctl/output.h"

namespace kv::kvctl {
namespace {

struct DeleteFlags {
  std::string key;
  uint64_t if_version = 0;
  CLI::Option* if_version_flag = nullptr;
  std::string output = "text";
};

int RunDelete(const DeleteFlags& f, Context& ctx) {
  client::DeleteOptions options;
  if (f.if_version_flag->count() > 0) options.if_version = f.if_version;
  int code = kExitOk;
  std::unique_ptr<client::Client> c = Connect(ctx, "delete", &code);
  if (c == nullptr) return code;
  absl::StatusOr<client::DeleteResult> r = c->Delete(f.key, options);
  if (!r.ok()) return ReportError(*ctx.io.err, "delete", r.status());
  if (f.output == "json") {
    nlohmann::json obj = nlohmann::json::object();
    SetBytes(obj, "key", f.key);
    obj["deleted"] = r->deleted;
    obj["version"] = r->version;
    *ctx.io.out << obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (r->deleted) {
    *ctx.io.out << "deleted at version " << r->version << "\n";
  } else {
    *ctx.io.out << "not found (nothing deleted) at version " << r->version << "\n";
  }
  return kExitOk;
}

}  // namespace

Command AddDeleteCommand(CLI::App& root) {
  auto f = std::make_shared<DeleteFlags>();
  CLI::App* app = root.add_subcommand("delete",
                                      "Remove KEY (deleting a missing key is not an "
                                      "error)");
  app->add_option("KEY", f->key, "Key")->required();
  f->if_version_flag =
      app->add_option("--if-version", f->if_version, "Delete only if the key is at this version")
          ->type_name("N");
  AddOutputFlag(app, &f->output);
  return {app, [f](Context& ctx) { return RunDelete(*f, ctx); }};
}

}  // namespace kv::kvctl

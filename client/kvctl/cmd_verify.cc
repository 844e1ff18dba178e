// kvctl verify --endpoint EDGE [--central HOST:PORT] [-o json]
//
// Proves that a node holds the same bytes as the central node (docs/operations.md, "Checksums
// and kvctl verify"): the node reports its own dataset checksum and the central node's at the
// same version (the one the stream carried with that version); with --central, the central
// node's current (version, checksum) is shown too, and compared when it is at the same version.
// Exit 0 when they match, kExitChecksumMismatch when they differ.

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "client/admin_status.h"
#include "client/kvctl/commands.h"
#include "client/kvctl/exit_codes.h"
#include "client/kvctl/output.h"

namespace kv::kvctl {
namespace {

struct VerifyFlags {
  std::string central;
  std::string output = "text";
};

std::string Hex(uint64_t v) { return absl::StrCat(absl::Hex(v, absl::kZeroPad16)); }

int RunVerify(const VerifyFlags& f, Context& ctx) {
  int code = kExitOk;
  std::unique_ptr<client::Client> c = Connect(ctx, "verify", &code);
  if (c == nullptr) return code;
  absl::StatusOr<kvstore::v1::StatusResponse> node = client::FetchAdminStatus(*c);
  if (!node.ok()) return ReportError(*ctx.io.err, "verify", node.status());
  std::optional<kvstore::v1::StatusResponse> central;
  if (!f.central.empty()) {
    absl::StatusOr<kvstore::v1::StatusResponse> r = client::FetchAdminStatus(*c, f.central);
    if (!r.ok()) return ReportError(*ctx.io.err, "verify", r.status());
    central = *r;
  }
  if (node->role() == "edge" && node->mode() == "cache") {
    return ReportError(*ctx.io.err, "verify",
                       absl::FailedPreconditionError(
                           "a cache edge holds no full copy to checksum; verify a full edge"));
  }
  if (!node->central_checksum_known()) {
    return ReportError(
        *ctx.io.err, "verify",
        absl::UnavailableError(absl::StrCat(
            "node ", node->node_id(), " at version ", node->checksum_version(),
            " has not received the central node's checksum yet (resynchronising, or an upstream "
            "from before checksums); try again")));
  }
  const uint64_t version = node->checksum_version();
  bool match = node->checksum() == node->central_checksum();
  const bool central_same_version = central.has_value() && central->checksum_version() == version;
  if (central_same_version) match = match && central->checksum() == node->checksum();

  if (f.output == "json") {
    nlohmann::json j;
    j["node"] = node->node_id();
    j["version"] = version;
    j["checksum"] = Hex(node->checksum());
    j["central_checksum"] = Hex(node->central_checksum());
    if (central.has_value()) {
      j["central_node"] = central->node_id();
      j["central_version"] = central->checksum_version();
      j["central_current_checksum"] = Hex(central->checksum());
    }
    j["match"] = match;
    *ctx.io.out << j.dump() << "\n";
  } else {
    *ctx.io.out << "node " << node->node_id() << " at version " << version << ": checksum "
                << Hex(node->checksum()) << "\n"
                << "central node at version " << version << " (from the stream): checksum "
                << Hex(node->central_checksum()) << "\n";
    if (central.has_value()) {
      *ctx.io.out << "central node " << central->node_id() << " now at version "
                  << central->checksum_version() << ": checksum " << Hex(central->checksum())
                  << (central_same_version ? "" : " (another version: not compared)") << "\n";
    }
    *ctx.io.out << (match ? "match" : "MISMATCH") << "\n";
  }
  if (!match) {
    *ctx.io.err << "kvctl verify: node " << node->node_id()
                << " does not hold the central node's data at version " << version
                << (node->checksum_mismatch().empty()
                        ? ""
                        : "; the node says: " + node->checksum_mismatch())
                << "\n";
    return kExitChecksumMismatch;
  }
  return kExitOk;
}

}  // namespace

Command AddVerifyCommand(CLI::App& root) {
  auto f = std::make_shared<VerifyFlags>();
  CLI::App* app = root.add_subcommand(
      "verify",
      "Compare a node's dataset checksum with the central node's at the same version (exit 10 "
      "on a mismatch)");
  app->add_option("--central", f->central,
                  "HOST:PORT of the central node, to show (and compare) its current checksum");
  AddOutputFlag(app, &f->output);
  return {app, [f](Context& ctx) { return RunVerify(*f, ctx); }};
}

}  // namespace kv::kvctl

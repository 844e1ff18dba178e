// The command table: names, arities, flags and key positions (COMMAND INFO), and lookup by
// name in any case.

#include <array>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "server/resp/command.h"
#include "server/resp/handlers.h"

namespace kv::server::resp {
namespace {

constexpr uint32_t kRead = kCmdReadonly | kCmdFast;
constexpr uint32_t kLocal = kCmdNoNode | kCmdFast;

constexpr CommandSpec kCommands[] = {
    {"get", 2, kRead, 1, 1, 1, CmdGet},
    {"mget", -2, kCmdReadonly, 1, -1, 1, CmdMget},
    {"exists", -2, kRead, 1, -1, 1, CmdExists},
    {"ttl", 2, kRead, 1, 1, 1, CmdTtl},
    {"pttl", 2, kRead, 1, 1, 1, CmdPttl},
    {"scan", -2, kCmdReadonly, 0, 0, 0, CmdScan},
    {"dbsize", 1, kCmdReadonly | kCmdFast, 0, 0, 0, CmdDbsize},
    {"set", -3, kCmdWrite, 1, 1, 1, CmdSet},
    {"del", -2, kCmdWrite, 1, -1, 1, CmdDel},
    {"ping", -1, kLocal, 0, 0, 0, CmdPing},
    {"echo", 2, kLocal, 0, 0, 0, CmdEcho},
    {"hello", -1, kLocal, 0, 0, 0, CmdHello},
    {"auth", -2, kLocal, 0, 0, 0, CmdAuth},
    {"select", 2, kLocal, 0, 0, 0, CmdSelect},
    {"quit", -1, kLocal | kCmdAfterPrevious, 0, 0, 0, CmdQuit},
    {"client", -2, kLocal, 0, 0, 0, CmdClient},
    {"command", -1, kCmdNoNode, 0, 0, 0, CmdCommand},
    {"info", -1, kCmdNoNode, 0, 0, 0, CmdInfo},
    {"kv.allowstale", 2, kLocal, 0, 0, 0, CmdKvAllowStale},
    {"kv.readopts", -1, kLocal, 0, 0, 0, CmdKvReadOpts},
    {"kv.lastversion", 1, kLocal | kCmdAfterPrevious, 0, 0, 0, CmdKvLastVersion},
    {"kv.lastread", 1, kLocal | kCmdAfterPrevious, 0, 0, 0, CmdKvLastRead},
};

// Longest command name, for lower-casing on the stack.
constexpr size_t kMaxNameBytes = 32;

const absl::flat_hash_map<absl::string_view, const CommandSpec*>& Index() {
  static const auto* index = [] {
    auto* m = new absl::flat_hash_map<absl::string_view, const CommandSpec*>();
    for (const CommandSpec& spec : kCommands) m->emplace(spec.name, &spec);
    return m;
  }();
  return *index;
}

}  // namespace

const CommandSpec* FindCommand(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return nullptr;
  char lower[kMaxNameBytes];
  for (size_t i = 0; i < name.size(); ++i) lower[i] = absl::ascii_tolower(name[i]);
  const auto& index = Index();
  auto it = index.find(absl::string_view(lower, name.size()));
  return it == index.end() ? nullptr : it->second;
}

absl::Span<const CommandSpec> AllCommands() { return absl::MakeConstSpan(kCommands); }

bool ArityOk(const CommandSpec& spec, size_t argc) {
  if (spec.arity >= 0) return argc == static_cast<size_t>(spec.arity);
  return argc >= static_cast<size_t>(-spec.arity);
}

}  // namespace kv::server::resp

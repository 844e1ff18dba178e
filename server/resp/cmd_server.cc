// Server commands: COMMAND (enough for redis-cli and client libraries that look commands up),
// INFO and DBSIZE. INFO and DBSIZE tell what Admin.Status tells (topology, key count), so with
// --auth required they need a token with the admin scope, as Admin.Status does.

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "auth/principal.h"
#include "server/resp/errors.h"
#include "server/resp/handlers.h"
#include "server/resp/info.h"
#include "server/resp/node_call.h"

namespace kv::server::resp {
namespace {

bool Is(absl::string_view arg, absl::string_view word) { return absl::EqualsIgnoreCase(arg, word); }

// One command's entry in Redis 7's COMMAND / COMMAND INFO format: name, arity, flags, first
// key, last key, step, ACL categories, tips, key specifications, subcommands.
void CommandEntry(const CommandSpec& spec, ReplyWriter& w) {
  w.ArrayHeader(10);
  w.Bulk(spec.name);
  w.Integer(spec.arity);
  int flags = 0;
  const bool write = (spec.flags & kCmdWrite) != 0;
  const bool readonly = (spec.flags & kCmdReadonly) != 0;
  const bool fast = (spec.flags & kCmdFast) != 0;
  flags = int{write} + int{readonly} + int{fast};
  w.SetHeader(static_cast<size_t>(flags));
  if (write) w.SimpleString("write");
  if (readonly) w.SimpleString("readonly");
  if (fast) w.SimpleString("fast");
  w.Integer(spec.first_key);
  w.Integer(spec.last_key);
  w.Integer(spec.step);
  w.SetHeader(0);
  w.ArrayHeader(0);
  w.ArrayHeader(0);
  w.ArrayHeader(0);
}

}  // namespace

void CmdCommand(Invocation& call) {
  ReplyWriter w = call.reply.w();
  const absl::Span<const CommandSpec> all = AllCommands();
  if (call.args.size() == 1) {
    w.ArrayHeader(all.size());
    for (const CommandSpec& spec : all) CommandEntry(spec, w);
    return;
  }
  const absl::string_view sub = call.args[1];
  if (Is(sub, "COUNT") && call.args.size() == 2) {
    return w.Integer(static_cast<int64_t>(all.size()));
  }
  if (Is(sub, "LIST") && call.args.size() == 2) {
    w.ArrayHeader(all.size());
    for (const CommandSpec& spec : all) w.Bulk(spec.name);
    return;
  }
  if (Is(sub, "INFO")) {
    if (call.args.size() == 2) {
      w.ArrayHeader(all.size());
      for (const CommandSpec& spec : all) CommandEntry(spec, w);
      return;
    }
    w.ArrayHeader(call.args.size() - 2);
    for (size_t i = 2; i < call.args.size(); ++i) {
      const CommandSpec* spec = FindCommand(call.args[i]);
      if (spec == nullptr) {
        w.NullArray();
      } else {
        CommandEntry(*spec, w);
      }
    }
    return;
  }
  if (Is(sub, "DOCS")) {
    // No documentation is served: redis-cli falls back to its built-in help.
    return w.MapHeader(0);
  }
  if (Is(sub, "HELP") && call.args.size() == 2) {
    static constexpr absl::string_view kHelp[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all commands.",
        "COUNT",
        "    Return the total number of commands in this server.",
        "LIST",
        "    Return a list of all commands in this server.",
        "INFO [<command-name> ...]",
        "    Return details about the given commands.",
        "DOCS [<command-name> ...]",
        "    Return documentation (none: an empty map).",
        "HELP",
        "    Print this help."};
    w.ArrayHeader(std::size(kHelp));
    for (absl::string_view line : kHelp) w.SimpleString(line);
    return;
  }
  w.Error(UnknownSubcommand("COMMAND", sub));
}

// Admits a command that reveals the node's status; on a refusal answers it and returns false.
bool AdmitStatusCommand(Invocation& call) {
  CallContext context;
  absl::Status s = PrepareContext(call, &context);
  if (s.ok() && context.principal != nullptr && !context.principal->permissions.IsAdmin()) {
    s = absl::PermissionDeniedError("missing scope admin (the node's status)");
  }
  if (s.ok()) return true;
  call.reply.w().Error(ErrorForStatus(s, CallKind::kRead, !call.connection.auth_token.empty()));
  return false;
}

void CmdInfo(Invocation& call) {
  if (!AdmitStatusCommand(call)) return;
  kvstore::v1::StatusResponse status;
  call.server.node->GetStatus(&status);
  InfoFacts facts;
  facts.stats = call.server.Stats();
  facts.max_connections = call.server.options.max_connections;
  facts.port = call.server.port;
  facts.uptime_seconds = absl::ToInt64Seconds(absl::Now() - call.server.started);
  call.reply.w().Verbatim(InfoText(status, facts, call.args.subspan(1)));
}

void CmdDbsize(Invocation& call) {
  if (!AdmitStatusCommand(call)) return;
  kvstore::v1::StatusResponse status;
  call.server.node->GetStatus(&status);
  call.reply.w().Integer(static_cast<int64_t>(status.key_count()));
}

}  // namespace kv::server::resp

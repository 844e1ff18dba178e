// Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, CLIENT.

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/build_info.h"
#include "server/resp/errors.h"
#include "server/resp/handlers.h"

namespace kv::server::resp {
namespace {

bool Is(absl::string_view arg, absl::string_view word) { return absl::EqualsIgnoreCase(arg, word); }

// Client names and library names: printable ASCII without spaces, as Redis requires.
bool ValidClientName(absl::string_view name) {
  for (const char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

constexpr absl::string_view kBadName =
    "ERR Client names cannot contain spaces, newlines or special characters.";

void StoreToken(Connection& connection, absl::string_view token) {
  connection.auth_token.assign(token.data(), token.size());
}

std::string ClientInfoLine(const Connection& c, absl::Time now) {
  return absl::StrCat(
      "id=", c.id, " addr=", c.addr, " laddr=", c.laddr, " name=", c.name,
      " age=", absl::ToInt64Seconds(now - c.created),
      " idle=", absl::ToInt64Seconds(now - c.last_command_time),
      " flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 cmd=", c.last_command,
      " user=default redir=-1 resp=", c.protocol, " lib-name=", c.lib_name,
      " lib-ver=", c.lib_version, " kv-auth=", c.auth_token.empty() ? 0 : 1,
      " kv-allowstale=", c.allow_stale ? 1 : 0, " kv-maxstaleness-us=", c.max_staleness_micros,
      " kv-minversion=", c.min_version, " kv-readyourwrites=", c.read_your_writes ? 1 : 0,
      " kv-lastversion=", c.last_write_version, "\n");
}

}  // namespace

void CmdPing(Invocation& call) {
  if (call.args.size() > 2) return call.reply.w().Error(WrongArity(call.args[0]));
  if (call.args.size() == 2) return call.reply.w().Bulk(call.args[1]);
  call.reply.w().SimpleString("PONG");
}

void CmdEcho(Invocation& call) { call.reply.w().Bulk(call.args[1]); }

void CmdHello(Invocation& call) {
  Connection& connection = call.connection;
  int protocol = connection.protocol;
  if (call.args.size() >= 2) {
    int64_t version = 0;
    if (!ParseInt64(call.args[1], &version)) {
      return call.reply.w().Error("ERR Protocol version is not an integer or out of range");
    }
    if (version != 2 && version != 3) {
      return call.reply.w().Error(
          "NOPROTO unsupported protocol version (this server speaks 2 and 3)");
    }
    protocol = static_cast<int>(version);
  }
  // Check every option before applying any.
  absl::string_view token;
  absl::string_view name;
  bool has_token = false;
  bool has_name = false;
  for (size_t i = 2; i < call.args.size(); ++i) {
    const size_t left = call.args.size() - i - 1;
    if (Is(call.args[i], "AUTH") && left >= 2) {
      token = call.args[i + 2];  // the username is ignored: the token says who it is
      has_token = true;
      i += 2;
    } else if (Is(call.args[i], "SETNAME") && left >= 1) {
      name = call.args[i + 1];
      if (!ValidClientName(name)) return call.reply.w().Error(kBadName);
      has_name = true;
      i += 1;
    } else {
      return call.reply.w().Error(
          absl::StrCat("ERR Syntax error in HELLO option '", Printable(call.args[i], 64), "'"));
    }
  }
  if (has_token) StoreToken(connection, token);
  if (has_name) connection.name.assign(name.data(), name.size());
  connection.protocol = protocol;
  call.reply.set_protocol(protocol);  // HELLO answers in the protocol it switched to

  kvstore::v1::StatusResponse status;
  call.server.node->GetStatus(&status);
  ReplyWriter w = call.reply.w();
  w.MapHeader(8);
  w.Bulk("server");
  w.Bulk("kvstore");
  w.Bulk("version");
  w.Bulk("7.0.0");  // the Redis protocol level clients may check; kv_version is ours
  w.Bulk("proto");
  w.Integer(protocol);
  w.Bulk("id");
  w.Integer(static_cast<int64_t>(connection.id));
  w.Bulk("mode");
  w.Bulk("standalone");
  w.Bulk("role");
  w.Bulk(status.role() == "central" ? "master" : "replica");
  w.Bulk("modules");
  w.ArrayHeader(0);
  w.Bulk("kv_version");
  w.Bulk(kBuildVersion);
}

void CmdAuth(Invocation& call) {
  if (call.args.size() > 3) return call.reply.w().Error(std::string(kSyntaxError));
  // AUTH <token> or AUTH <username> <token>: the username is ignored. The token is not judged
  // here: the node judges it on every command (NOAUTH / WRONGPASS / NOPERM come from there).
  StoreToken(call.connection, call.args.back());
  call.reply.w().Ok();
}

void CmdSelect(Invocation& call) {
  int64_t db = 0;
  if (!ParseInt64(call.args[1], &db)) return call.reply.w().Error(std::string(kNotInteger));
  if (db != 0) {
    return call.reply.w().Error(
        "ERR DB index is out of range (this store has one keyspace: only SELECT 0)");
  }
  call.reply.w().Ok();
}

void CmdQuit(Invocation& call) {
  call.close_after_reply = true;
  call.reply.w().Ok();
}

void CmdClient(Invocation& call) {
  Connection& c = call.connection;
  const absl::string_view sub = call.args[1];
  const size_t argc = call.args.size();
  ReplyWriter w = call.reply.w();
  if (Is(sub, "SETNAME") && argc == 3) {
    if (!ValidClientName(call.args[2])) return w.Error(kBadName);
    c.name.assign(call.args[2].data(), call.args[2].size());
    return w.Ok();
  }
  if (Is(sub, "GETNAME") && argc == 2) {
    if (c.name.empty()) return w.Null();
    return w.Bulk(c.name);
  }
  if (Is(sub, "ID") && argc == 2) return w.Integer(static_cast<int64_t>(c.id));
  if (Is(sub, "INFO") && argc == 2) return w.Verbatim(ClientInfoLine(c, call.now));
  if (Is(sub, "SETINFO") && argc == 4) {
    const absl::string_view value = call.args[3];
    if (!ValidClientName(value)) {
      return w.Error(
          "ERR lib-name and lib-ver cannot contain spaces, newlines or special characters.");
    }
    if (Is(call.args[2], "LIB-NAME")) {
      c.lib_name.assign(value.data(), value.size());
    } else if (Is(call.args[2], "LIB-VER")) {
      c.lib_version.assign(value.data(), value.size());
    } else {
      return w.Error(absl::StrCat("ERR Unrecognized option '", Printable(call.args[2], 64), "'"));
    }
    return w.Ok();
  }
  if (Is(sub, "HELP") && argc == 2) {
    static constexpr absl::string_view kHelp[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Set client library name or version.",
        "HELP",
        "    Print this help."};
    w.ArrayHeader(std::size(kHelp));
    for (absl::string_view line : kHelp) w.SimpleString(line);
    return;
  }
  for (absl::string_view known : {"SETNAME", "GETNAME", "ID", "INFO", "SETINFO", "HELP"}) {
    if (Is(sub, known)) return w.Error(absl::StrCat(WrongArity("client|" + std::string(known))));
  }
  w.Error(UnknownSubcommand("CLIENT", sub));
}

}  // namespace kv::server::resp

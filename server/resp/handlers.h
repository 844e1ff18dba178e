#pragma once
// The command handlers (command_table.cc lists them with their arity and flags). Internal to
// server/resp.

#include "server/resp/command.h"

namespace kv::server::resp {

// cmd_connection.cc: PING, ECHO, HELLO, AUTH, SELECT, QUIT, CLIENT ...
void CmdPing(Invocation& call);
void CmdEcho(Invocation& call);
void CmdHello(Invocation& call);
void CmdAuth(Invocation& call);
void CmdSelect(Invocation& call);
void CmdQuit(Invocation& call);
void CmdClient(Invocation& call);
// cmd_server.cc: COMMAND, INFO, DBSIZE.
void CmdCommand(Invocation& call);
void CmdInfo(Invocation& call);
void CmdDbsize(Invocation& call);
// cmd_kv.cc: this store's own commands.
void CmdKvAllowStale(Invocation& call);
void CmdKvReadOpts(Invocation& call);
void CmdKvLastVersion(Invocation& call);
void CmdKvLastRead(Invocation& call);
// cmd_read.cc: GET, MGET, EXISTS, TTL, PTTL.
void CmdGet(Invocation& call);
void CmdMget(Invocation& call);
void CmdExists(Invocation& call);
void CmdTtl(Invocation& call);
void CmdPttl(Invocation& call);
// cmd_scan.cc
void CmdScan(Invocation& call);
// cmd_write.cc: SET, DEL.
void CmdSet(Invocation& call);
void CmdDel(Invocation& call);

}  // namespace kv::server::resp

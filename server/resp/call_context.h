#pragma once
// The one place where a RESP connection's identity becomes a Node call's CallContext: every
// command calls FillCallContext before it calls the node, so wiring authentication (the bearer
// token AUTH stored) into CallContext is a change to call_context.cc only. A refusal returned
// here answers the command through ErrorForStatus (UNAUTHENTICATED -> NOAUTH/WRONGPASS,
// PERMISSION_DENIED -> NOPERM) without calling the node.

#include "absl/status/status.h"
#include "server/node/node.h"
#include "server/resp/connection.h"

namespace kv::server::resp {

// Sets the transport facts of `call` from `connection`: the peer, and the connection's bearer
// token through the server's admit check (RespServerOptions::admit), whose refusal it returns.
// The deadline is the caller's to set.
absl::Status FillCallContext(const Connection& connection, CallContext* call);

// Makes a reused `call` (a pooled command's) a fresh context, so it never carries an earlier
// caller's credentials, keeping only the memory of its peer string.
void ResetCallContext(CallContext* call);

}  // namespace kv::server::resp

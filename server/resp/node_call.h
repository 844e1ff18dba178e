#pragma once
// Helpers for commands that call the node: the CallContext and read options of a command from
// its connection, and merging the freshness of several answers into one.

#include "absl/time/clock.h"
#include "kvstore/v1/kv.pb.h"
#include "server/node/node.h"
#include "server/resp/call_context.h"
#include "server/resp/command.h"

namespace kv::server::resp {

// The CallContext of a node call made by `call`: FillCallContext plus the command deadline.
// On a refusal (authentication) the command answers it instead of calling the node.
inline absl::Status PrepareContext(const Invocation& call, CallContext* context) {
  context->deadline = call.now + call.server.options.command_timeout;
  return FillCallContext(call.connection, context);
}

// Folds `next` into `merged`: the largest staleness, the smallest as-of version, stale if any
// was; source and node of the first answer.
void MergeReadInfo(const kvstore::v1::ReadInfo& next, bool first, kvstore::v1::ReadInfo* merged);

}  // namespace kv::server::resp

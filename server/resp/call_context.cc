#include "server/resp/call_context.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace kv::server::resp {

absl::Status FillCallContext(const Connection& connection, CallContext* call) {
  call->peer = connection.peer;
  if (connection.admit == nullptr || !*connection.admit) return absl::OkStatus();
  if (connection.auth_token.empty()) return (*connection.admit)(std::nullopt, call);
  const std::string authorization = absl::StrCat("Bearer ", connection.auth_token);
  return (*connection.admit)(authorization, call);
}

void ResetCallContext(CallContext* call) {
  std::string peer = std::move(call->peer);
  *call = CallContext();
  peer.clear();
  call->peer = std::move(peer);
}

}  // namespace kv::server::resp

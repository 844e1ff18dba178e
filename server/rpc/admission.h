#pragma once
// How a gRPC call enters a node: its deadline and peer, and the caller's credentials checked by
// the node's Gatekeeper. Shared by the KV, Admin and Replication services.

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "server/access/gatekeeper.h"
#include "server/node/node.h"

namespace kv::server {

// Fills `call` from `context` and admits the caller: OK, or the refusal to answer with
// (UNAUTHENTICATED, or UNAVAILABLE before this node has a key set). `gate` null: no checks and
// no credentials carried (tests).
absl::Status AdmitCall(grpc::ServerContextBase* context, Gatekeeper* gate, CallContext* call);

// Who the peer proved to be by its TLS client certificate (the subject), or "" when it
// presented none that verified.
std::string CertificateIdentity(const grpc::ServerContextBase& context);

// OK when the admitted caller may use the Admin API: with tokens required, the `admin` scope.
absl::Status CheckAdmin(const CallContext& call, Gatekeeper* gate);

}  // namespace kv::server

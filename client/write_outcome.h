#pragma once
// Honest outcomes for writes: which failures of a Put or Delete prove that nothing was applied,
// and the mark on the ones that do not (kv::client::IsOutcomeUnknown in kv/client.h).
//
// A write is known NOT applied when
//   - the server (or gRPC before sending) rejected the request itself: INVALID_ARGUMENT,
//     FAILED_PRECONDITION, RESOURCE_EXHAUSTED, OUT_OF_RANGE, PERMISSION_DENIED,
//     UNAUTHENTICATED, NOT_FOUND, ALREADY_EXISTS, UNIMPLEMENTED; or
//   - the call never reached a connection: gRPC could not connect or resolve the address
//     (UNAVAILABLE "failed to connect to all addresses", "DNS resolution failed", ...), or the
//     client's own wait for a connection ran out (see AwaitConnection).
// Every other failure (UNAVAILABLE after the request went out, e.g. "Socket closed";
// DEADLINE_EXCEEDED; CANCELLED; UNKNOWN; INTERNAL; ABORTED; DATA_LOSS) leaves the outcome
// unknown. gRPC retries are off in this client (endpoints.cc), so a call is never re-sent behind
// our back and a connect failure really means nothing was sent.
//
// Stateless functions; thread-safe.

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kv::client {

// True when `status` (a failed write) proves the write was not applied.
bool ProvesNotApplied(const grpc::Status& status);

// The absl::Status for a failed write: same code and message, marked outcome-unknown unless
// ProvesNotApplied(status).
absl::Status WriteFailure(const grpc::Status& status);

// Before a blocking write: waits until `channel` is connected, or has failed to connect (the
// call then fails fast with gRPC's own "failed to connect" error), or `deadline` passes. In the
// last case returns DEADLINE_EXCEEDED "not connected to <address> ...; nothing was sent", which
// is not marked: the write was provably not sent. OK otherwise.
absl::Status AwaitConnection(grpc::Channel& channel, absl::string_view address,
                             absl::Time deadline);

}  // namespace kv::client

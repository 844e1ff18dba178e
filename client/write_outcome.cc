#include "client/write_outcome.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "kv/client.h"

namespace kv::client {
namespace {

// The payload that marks an unknown outcome; its text shows up in Status::ToString().
constexpr absl::string_view kOutcomeUnknownUrl = "kv.client.OutcomeUnknown";
constexpr absl::string_view kOutcomeUnknownText = "the write may have been applied";

// Messages gRPC 1.51 gives a call that never got a connection (client_channel's pick failed).
bool NeverConnected(const std::string& message) {
  return absl::StartsWith(message, "failed to connect to all addresses") ||
         absl::StartsWith(message, "DNS resolution failed") ||
         absl::StartsWith(message, "empty address list");
}

}  // namespace

bool IsOutcomeUnknown(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kOutcomeUnknownUrl).has_value();
}

absl::Status MarkOutcomeUnknown(absl::Status status) {
  if (!status.ok()) status.SetPayload(kOutcomeUnknownUrl, absl::Cord(kOutcomeUnknownText));
  return status;
}

bool ProvesNotApplied(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::UNIMPLEMENTED:
      return true;
    case grpc::StatusCode::UNAVAILABLE:
      return NeverConnected(status.error_message());
    default:
      return false;
  }
}

absl::Status WriteFailure(const grpc::Status& status) {
  absl::Status s = FromGrpcStatus(status);
  return ProvesNotApplied(status) ? s : MarkOutcomeUnknown(std::move(s));
}

absl::Status AwaitConnection(grpc::Channel& channel, absl::string_view address,
                             absl::Time deadline) {
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state == GRPC_CHANNEL_IDLE || state == GRPC_CHANNEL_CONNECTING) {
    if (!channel.WaitForStateChange(state, absl::ToChronoTime(deadline))) {
      return absl::DeadlineExceededError(
          absl::StrCat("not connected to ", address,
                       " before the deadline; nothing was sent, the write was not applied"));
    }
    state = channel.GetState(/*try_to_connect=*/true);
  }
  return absl::OkStatus();
}

}  // namespace kv::client

#pragma once
// The one place where absl::Status and grpc::Status are converted into each other.

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace kv {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// "NOT_FOUND", "INVALID_ARGUMENT", ...
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace kv

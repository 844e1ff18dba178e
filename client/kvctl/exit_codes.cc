#include "client/kvctl/exit_codes.h"

#include "common/grpc_status.h"
#include "kv/client.h"

namespace kv::kvctl {

int ExitCodeFor(const absl::Status& status) {
  if (client::IsOutcomeUnknown(status)) return kExitOutcomeUnknown;
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kFailedPrecondition:
      return kExitPrecondition;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kOutOfRange:
      return kExitRejected;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kExitDenied;
    default:
      return kExitServerError;
  }
}

std::string CodeName(const absl::Status& status) {
  return GrpcCodeName(static_cast<grpc::StatusCode>(status.code()));
}

int ReportError(std::ostream& err, absl::string_view command, const absl::Status& status) {
  err << "kvctl " << command << ": ";
  if (client::IsOutcomeUnknown(status)) err << kOutcomeUnknownText << ": ";
  err << CodeName(status) << ": " << status.message() << "\n";
  return ExitCodeFor(status);
}

int ReportUsage(std::ostream& err, absl::string_view command, absl::string_view message) {
  err << "kvctl " << command << ": " << message << "\n"
      << "Run 'kvctl " << command << " --help' for usage.\n";
  return kExitUsage;
}

}  // namespace kv::kvctl

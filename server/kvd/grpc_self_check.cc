#include "server/kvd/grpc_self_check.h"

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/log.h"

namespace kv::server {
namespace {

// No service implements it: the server's gRPC core answers UNIMPLEMENTED.
constexpr char kSelfCheckMethod[] = "/kvstore.v1.Admin/SelfCheck";

// "0.0.0.0:7000" -> "127.0.0.1:7000", "[::]:7000" -> "[::1]:7000"; others unchanged.
std::string LoopbackFor(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return address;
  const std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon);
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1" + port;
  if (host == "[::]" || host == "::") return "[::1]" + port;
  return address;
}

}  // namespace

GrpcSelfCheck::GrpcSelfCheck(SelfCheckOptions options) : options_(std::move(options)) {}

GrpcSelfCheck::~GrpcSelfCheck() { Stop(); }

void GrpcSelfCheck::Start(const std::string& address) {
  target_ = LoopbackFor(address);
  RunCheck();
  task_ =
      std::make_unique<PeriodicTask>("grpc-self-check", options_.interval, [this] { RunCheck(); });
}

void GrpcSelfCheck::Stop() {
  if (task_ != nullptr) task_->Stop();
}

absl::Status GrpcSelfCheck::CheckOnce() const {
  grpc::ChannelArguments args;
  // Its own subchannel pool: a new connection every time, closed with the channel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!options_.server_name.empty()) args.SetSslTargetNameOverride(options_.server_name);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target_, options_.credentials, args);
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  grpc::Slice empty;
  grpc::ByteBuffer request(&empty, 1);  // a default ByteBuffer is no message at all
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, kSelfCheckMethod, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  const grpc::StatusCode code = status.error_code();
  if (code != grpc::StatusCode::UNAVAILABLE && code != grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::OkStatus();  // UNIMPLEMENTED, as expected: the server answered
  }
  return absl::UnavailableError(
      absl::StrCat("the gRPC port ", target_, " does not answer a new connection (",
                   code == grpc::StatusCode::UNAVAILABLE ? "UNAVAILABLE" : "DEADLINE_EXCEEDED",
                   status.error_message().empty() ? "" : ": ", status.error_message(), ")"));
}

void GrpcSelfCheck::RunCheck() {
  absl::Status checked = CheckOnce();
  std::string failure;
  if (!checked.ok()) {
    failure = std::string(checked.message());
    if (options_.context) {
      std::string context = options_.context();
      if (!context.empty()) absl::StrAppend(&failure, "; ", context);
    }
  }
  absl::MutexLock lock(&mu_);
  if (failure != failure_) {
    // Logged on changes only: a node that stays broken does not fill the log.
    if (!failure.empty()) {
      KV_LOG(ERROR) << "not ready: " << failure;
    } else {
      KV_LOG(INFO) << "the gRPC port answers again";
    }
  }
  if (!failure.empty()) ++failures_;
  failure_ = std::move(failure);
}

bool GrpcSelfCheck::Ready(std::string* why_not) const {
  absl::MutexLock lock(&mu_);
  if (failure_.empty()) return true;
  *why_not = failure_;
  return false;
}

uint64_t GrpcSelfCheck::failures() const {
  absl::MutexLock lock(&mu_);
  return failures_;
}

void SelfCheckedNode::GetStatus(kvstore::v1::StatusResponse* status) {
  node_->GetStatus(status);
  std::string why_not;
  const bool ready = Ready(&why_not);
  status->set_ready(ready);
  if (!ready) status->set_not_ready_reason(why_not);
}

bool SelfCheckedNode::Ready(std::string* why_not) {
  if (!node_->Ready(why_not)) return false;
  return check_->Ready(why_not);
}

}  // namespace kv::server

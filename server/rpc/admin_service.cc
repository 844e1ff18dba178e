#include "server/rpc/admin_service.h"

#include "server/rpc/admission.h"

namespace kv::server {

grpc::ServerUnaryReactor* AdminService::Status(grpc::CallbackServerContext* context,
                                               const kvstore::v1::StatusRequest* request,
                                               kvstore::v1::StatusResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kStatus);
  if (!done) return reactor;
  CallContext call;
  absl::Status admitted = AdmitCall(context, gate_, &call);
  if (admitted.ok()) admitted = CheckAdmin(call, gate_);
  if (!admitted.ok()) {
    std::move(done)(admitted);
    return reactor;
  }
  node_->GetStatus(response);
  response->set_listen(listen_);
  response->set_http_listen(http_listen_);
  std::move(done)(absl::OkStatus());
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::SetKeySet(grpc::CallbackServerContext* context,
                                                  const kvstore::v1::SetKeySetRequest* request,
                                                  kvstore::v1::SetKeySetResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kStatus);
  if (!done) return reactor;
  CallContext call;
  absl::Status admitted = AdmitCall(context, gate_, &call);
  if (admitted.ok()) admitted = CheckAdmin(call, gate_);
  if (!admitted.ok()) {
    std::move(done)(admitted);
    return reactor;
  }
  if (key_sets_ == nullptr) {
    std::move(done)(absl::FailedPreconditionError(
        "the key set is replaced at the central node; this node receives it on its stream"));
    return reactor;
  }
  key_sets_->SetKeySet(*request, response, call, std::move(done));
  return reactor;
}

}  // namespace kv::server

#include "server/rpc/admin_service.h"

#include "server/rpc/admission.h"

namespace kv::server {
namespace {

// Every Admin call needs the admin scope (with --auth required). On a refusal the call is
// answered through `done` and false returned.
bool AdmitAdmin(grpc::CallbackServerContext* context, Gatekeeper* gate, CallContext* call,
                Done* done) {
  absl::Status admitted = AdmitCall(context, gate, call);
  if (admitted.ok()) admitted = CheckAdmin(*call, gate);
  if (admitted.ok()) return true;
  std::move (*done)(admitted);
  return false;
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::Status(grpc::CallbackServerContext* context,
                                               const kvstore::v1::StatusRequest* request,
                                               kvstore::v1::StatusResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kStatus);
  if (!done) return reactor;
  CallContext call;
  if (!AdmitAdmin(context, gate_, &call, &done)) return reactor;
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
  if (!AdmitAdmin(context, gate_, &call, &done)) return reactor;
  if (key_sets_ == nullptr) {
    std::move(done)(absl::FailedPreconditionError(
        "the key set is replaced at the central node; this node receives it on its stream"));
    return reactor;
  }
  key_sets_->SetKeySet(*request, response, call, std::move(done));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::Backup(grpc::CallbackServerContext* context,
                                               const kvstore::v1::BackupRequest* request,
                                               kvstore::v1::BackupResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kStatus);
  if (!done) return reactor;
  CallContext call;
  if (!AdmitAdmin(context, gate_, &call, &done)) return reactor;
  if (backups_ == nullptr) {
    std::move(done)(absl::FailedPreconditionError(
        "backups are taken at the central node; an edge's data is a copy it rebuilds from its "
        "upstream"));
    return reactor;
  }
  backups_->Backup(*request, response, std::move(done));
  return reactor;
}

}  // namespace kv::server

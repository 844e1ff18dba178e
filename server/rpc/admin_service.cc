#include "server/rpc/admin_service.h"

namespace kv::server {

grpc::ServerUnaryReactor* AdminService::Status(grpc::CallbackServerContext* context,
                                               const kvstore::v1::StatusRequest* request,
                                               kvstore::v1::StatusResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kStatus);
  if (!done) return reactor;
  node_->GetStatus(response);
  response->set_listen(listen_);
  response->set_http_listen(http_listen_);
  std::move(done)(absl::OkStatus());
  return reactor;
}

}  // namespace kv::server

#include "server/rpc/kv_service.h"

namespace kv::server {

grpc::ServerUnaryReactor* KvService::Get(grpc::CallbackServerContext* context,
                                         const kvstore::v1::GetRequest* request,
                                         kvstore::v1::GetResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kGet);
  if (done) node_->Get(*request, response, MakeCallContext(context), std::move(done));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::BatchGet(grpc::CallbackServerContext* context,
                                              const kvstore::v1::BatchGetRequest* request,
                                              kvstore::v1::BatchGetResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kBatchGet);
  if (done) node_->BatchGet(*request, response, MakeCallContext(context), std::move(done));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* context,
                                         const kvstore::v1::PutRequest* request,
                                         kvstore::v1::PutResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kPut);
  if (done) node_->Put(*request, response, MakeCallContext(context), std::move(done));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Delete(grpc::CallbackServerContext* context,
                                            const kvstore::v1::DeleteRequest* request,
                                            kvstore::v1::DeleteResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kDelete);
  if (done) node_->Delete(*request, response, MakeCallContext(context), std::move(done));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::List(grpc::CallbackServerContext* context,
                                          const kvstore::v1::ListRequest* request,
                                          kvstore::v1::ListResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kList);
  if (done) node_->List(*request, response, MakeCallContext(context), std::move(done));
  return reactor;
}

}  // namespace kv::server

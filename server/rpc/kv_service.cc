#include "server/rpc/kv_service.h"

#include "server/rpc/admission.h"
#include "server/rpc/watch_stream.h"

namespace kv::server {

grpc::ServerUnaryReactor* KvService::Get(grpc::CallbackServerContext* context,
                                         const kvstore::v1::GetRequest* request,
                                         kvstore::v1::GetResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kGet);
  if (!done) return reactor;
  CallContext call;
  if (absl::Status s = AdmitCall(context, gate_, &call); !s.ok()) {
    std::move(done)(s);
    return reactor;
  }
  node_->Get(*request, response, call, std::move(done));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::BatchGet(grpc::CallbackServerContext* context,
                                              const kvstore::v1::BatchGetRequest* request,
                                              kvstore::v1::BatchGetResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kBatchGet);
  if (!done) return reactor;
  CallContext call;
  if (absl::Status s = AdmitCall(context, gate_, &call); !s.ok()) {
    std::move(done)(s);
    return reactor;
  }
  node_->BatchGet(*request, response, call, std::move(done));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* context,
                                         const kvstore::v1::PutRequest* request,
                                         kvstore::v1::PutResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kPut);
  if (!done) return reactor;
  CallContext call;
  if (absl::Status s = AdmitCall(context, gate_, &call); !s.ok()) {
    std::move(done)(s);
    return reactor;
  }
  node_->Put(*request, response, call, std::move(done));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Delete(grpc::CallbackServerContext* context,
                                            const kvstore::v1::DeleteRequest* request,
                                            kvstore::v1::DeleteResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kDelete);
  if (!done) return reactor;
  CallContext call;
  if (absl::Status s = AdmitCall(context, gate_, &call); !s.ok()) {
    std::move(done)(s);
    return reactor;
  }
  node_->Delete(*request, response, call, std::move(done));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::List(grpc::CallbackServerContext* context,
                                          const kvstore::v1::ListRequest* request,
                                          kvstore::v1::ListResponse* response) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, Method::kList);
  if (!done) return reactor;
  CallContext call;
  if (absl::Status s = AdmitCall(context, gate_, &call); !s.ok()) {
    std::move(done)(s);
    return reactor;
  }
  node_->List(*request, response, call, std::move(done));
  return reactor;
}

grpc::ServerWriteReactor<kvstore::v1::WatchResponse>* KvService::Watch(
    grpc::CallbackServerContext* context, const kvstore::v1::WatchRequest* request) {
  if (hub_ == nullptr || access_ == nullptr) {
    return WatchStream::Refuse(context,
                               {absl::UnimplementedError("this node does not serve watches")});
  }
  CallContext call;
  bool hide_reserved = true;
  absl::Status s = AdmitCall(context, gate_, &call);
  if (s.ok()) s = access_->AuthorizeWatch(call, *request, &hide_reserved);
  if (!s.ok()) return WatchStream::Refuse(context, {s});
  absl::StatusOr<WatchFilter> filter = hub_->MakeFilter(*request, hide_reserved);
  if (!filter.ok()) return WatchStream::Refuse(context, {filter.status()});
  return WatchStream::Start(context, hub_, *request, *std::move(filter));
}

}  // namespace kv::server

#include "server/rpc/kv_service.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include "server/rpc/admission.h"
#include "server/rpc/watch_stream.h"

namespace kv::server {

template <typename Request, typename Response>
grpc::ServerUnaryReactor* KvService::Serve(grpc::CallbackServerContext* context, Method method,
                                           const Request* request, Response* response,
                                           void (Node::*call_node)(const Request&, Response*,
                                                                   const CallContext&, Done)) {
  auto* reactor = context->DefaultReactor();
  Done done = FinishReactor(reactor, tracker_, method);
  if (!done) return reactor;
  CallContext call;
  if (absl::Status s = AdmitCall(context, gate_, &call); !s.ok()) {
    std::move(done)(s);
    return reactor;
  }
  (node_->*call_node)(*request, response, call, std::move(done));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Get(grpc::CallbackServerContext* context,
                                         const kvstore::v1::GetRequest* request,
                                         kvstore::v1::GetResponse* response) {
  return Serve(context, Method::kGet, request, response, &Node::Get);
}

grpc::ServerUnaryReactor* KvService::BatchGet(grpc::CallbackServerContext* context,
                                              const kvstore::v1::BatchGetRequest* request,
                                              kvstore::v1::BatchGetResponse* response) {
  return Serve(context, Method::kBatchGet, request, response, &Node::BatchGet);
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* context,
                                         const kvstore::v1::PutRequest* request,
                                         kvstore::v1::PutResponse* response) {
  return Serve(context, Method::kPut, request, response, &Node::Put);
}

grpc::ServerUnaryReactor* KvService::Delete(grpc::CallbackServerContext* context,
                                            const kvstore::v1::DeleteRequest* request,
                                            kvstore::v1::DeleteResponse* response) {
  return Serve(context, Method::kDelete, request, response, &Node::Delete);
}

grpc::ServerUnaryReactor* KvService::Commit(grpc::CallbackServerContext* context,
                                            const kvstore::v1::CommitRequest* request,
                                            kvstore::v1::CommitResponse* response) {
  return Serve(context, Method::kCommit, request, response, &Node::Commit);
}

grpc::ServerUnaryReactor* KvService::List(grpc::CallbackServerContext* context,
                                          const kvstore::v1::ListRequest* request,
                                          kvstore::v1::ListResponse* response) {
  return Serve(context, Method::kList, request, response, &Node::List);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* KvService::Watch(grpc::CallbackServerContext* context,
                                                             const grpc::ByteBuffer* raw) {
  if (hub_ == nullptr || access_ == nullptr) {
    return WatchStream::Refuse(context,
                               {absl::UnimplementedError("this node does not serve watches")});
  }
  kvstore::v1::WatchRequest request;
  grpc::ByteBuffer bytes = *raw;  // shares the slices; parsing consumes its buffer
  if (!grpc::SerializationTraits<kvstore::v1::WatchRequest>::Deserialize(&bytes, &request).ok()) {
    return WatchStream::Refuse(context,
                               {absl::InvalidArgumentError("the WatchRequest does not parse")});
  }
  CallContext call;
  bool hide_reserved = true;
  absl::Status s = AdmitCall(context, gate_, &call);
  if (s.ok()) s = access_->AuthorizeWatch(call, request, &hide_reserved);
  if (!s.ok()) return WatchStream::Refuse(context, {s});
  absl::StatusOr<WatchFilter> filter = hub_->MakeFilter(request, hide_reserved);
  if (!filter.ok()) return WatchStream::Refuse(context, {filter.status()});
  return WatchStream::Start(context, hub_, request, *std::move(filter));
}

}  // namespace kv::server

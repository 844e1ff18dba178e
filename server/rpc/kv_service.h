#pragma once
// gRPC KV service: a thin adapter from the callback API to the node role; Watch streams from
// the node's WatchHub (server/rpc/watch_stream.h), as a raw method so that each message is
// serialised once for all the watchers it goes to.

#include <grpcpp/grpcpp.h>

#include "kvstore/v1/kv.grpc.pb.h"
#include "server/access/authorized_node.h"
#include "server/access/gatekeeper.h"
#include "server/node/node.h"
#include "server/rpc/call_tracker.h"
#include "server/watch/watch_hub.h"

namespace kv::server {

class KvService final
    : public kvstore::v1::KV::WithRawCallbackMethod_Watch<kvstore::v1::KV::CallbackService> {
 public:
  // `node` (normally an AuthorizedNode), `gate` and `tracker` must outlive the service; `gate`
  // and `tracker` may be null.
  KvService(Node* node, Gatekeeper* gate, CallTracker* tracker)
      : node_(node), gate_(gate), tracker_(tracker) {}

  // Serves Watch from `hub`, authorized by `access` (both outlive the service). Without it,
  // Watch is UNIMPLEMENTED.
  void SetWatch(WatchHub* hub, AuthorizedNode* access) {
    hub_ = hub;
    access_ = access;
  }

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const kvstore::v1::GetRequest* request,
                                kvstore::v1::GetResponse* response) override;
  grpc::ServerUnaryReactor* BatchGet(grpc::CallbackServerContext* context,
                                     const kvstore::v1::BatchGetRequest* request,
                                     kvstore::v1::BatchGetResponse* response) override;
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* context,
                                const kvstore::v1::PutRequest* request,
                                kvstore::v1::PutResponse* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const kvstore::v1::DeleteRequest* request,
                                   kvstore::v1::DeleteResponse* response) override;
  grpc::ServerUnaryReactor* Commit(grpc::CallbackServerContext* context,
                                   const kvstore::v1::CommitRequest* request,
                                   kvstore::v1::CommitResponse* response) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const kvstore::v1::ListRequest* request,
                                 kvstore::v1::ListResponse* response) override;
  // `request` is a serialised WatchRequest; the answers are serialised WatchResponses.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Watch(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request) override;

 private:
  // Admits the call and hands it to the node's `call_node`.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, Method method,
                                  const Request* request, Response* response,
                                  void (Node::*call_node)(const Request&, Response*,
                                                          const CallContext&, Done));

  Node* const node_;
  Gatekeeper* const gate_;
  CallTracker* const tracker_;
  WatchHub* hub_ = nullptr;
  AuthorizedNode* access_ = nullptr;
};

}  // namespace kv::server

#pragma once
// gRPC KV service: a thin adapter from gRPC to the node role.
//
// Reads (Get, BatchGet) are served with the completion-queue API on threads of our own; writes
// and List use the callback API. On gRPC 1.51 (Debian bookworm) a callback call hops from the
// poller to a "nexting" thread before our code runs; the completion-queue path does not, which
// cut the server's CPU per Get (docs/BENCHMARKS.md). Writes wait on fsync, so the hop does not
// matter there.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "kvstore/v1/kv.grpc.pb.h"
#include "server/call_tracker.h"
#include "server/node.h"

namespace kv::server {

using KvServiceBase =
    kvstore::v1::KV::WithAsyncMethod_Get<kvstore::v1::KV::WithAsyncMethod_BatchGet<
        kvstore::v1::KV::WithCallbackMethod_Put<kvstore::v1::KV::WithCallbackMethod_Delete<
            kvstore::v1::KV::WithCallbackMethod_List<kvstore::v1::KV::Service>>>>>;

class KvService final : public KvServiceBase {
 public:
  // `node` and `tracker` (may be null) must outlive the service.
  KvService(Node* node, CallTracker* tracker) : node_(node), tracker_(tracker) {}
  ~KvService() override;

  // Adds the read completion queues; call before builder->BuildAndStart().
  void AddReadQueues(grpc::ServerBuilder* builder, int threads);
  // After BuildAndStart: starts the read threads.
  void StartReads();
  // After the server's Shutdown: drains the queues and joins the threads.
  void StopReads();

  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* context,
                                const kvstore::v1::PutRequest* request,
                                kvstore::v1::PutResponse* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const kvstore::v1::DeleteRequest* request,
                                   kvstore::v1::DeleteResponse* response) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const kvstore::v1::ListRequest* request,
                                 kvstore::v1::ListResponse* response) override;

 private:
  void ServeReads(grpc::ServerCompletionQueue* cq);

  Node* const node_;
  CallTracker* const tracker_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> read_queues_;
  std::vector<std::thread> read_threads_;
  std::atomic<int> running_reads_{0};  // handlers started whose answer is not yet sent
};

}  // namespace kv::server

#pragma once
// An edge's connection to its upstream (the central node or a relay): one gRPC channel shared by
// the replication stream, snapshots, cold reads and forwarded calls. Forwarded calls are
// asynchronous (no thread waits on the network) and carry the caller's deadline, capped by
// --upstream-timeout.
//
// Threading: every method may be called from any thread at once (gRPC stubs are thread-safe);
// `done` runs on a gRPC callback thread. Ownership: the client owns its channel and stubs; the
// edge node owns the client and destroys it after replication and fetches have stopped.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "kvstore/v1/kv.grpc.pb.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "server/node/node.h"

namespace kv::server {

struct UpstreamOptions {
  // HOST:PORT of the upstream.
  std::string address;
  // Longest wait for a forwarded read or fetch (the caller's deadline may be shorter).
  absl::Duration timeout = absl::Seconds(2);
  // Longest wait for a forwarded write when the caller set no deadline.
  absl::Duration write_timeout = absl::Seconds(30);
  // Largest gRPC message.
  int max_message_bytes = 26 << 20;
};

class UpstreamClient {
 public:
  explicit UpstreamClient(UpstreamOptions options);

  const std::string& address() const { return options_.address; }
  const UpstreamOptions& options() const { return options_; }
  kvstore::v1::KV::Stub* kv() { return kv_.get(); }
  kvstore::v1::Replication::Stub* replication() { return replication_.get(); }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

  // Forwarded calls. `request` and `response` must stay alive until `done` runs; `done` gets
  // the upstream's status (UNAVAILABLE / DEADLINE_EXCEEDED when it cannot be reached).
  void Get(const kvstore::v1::GetRequest* request, kvstore::v1::GetResponse* response,
           absl::Time deadline, Done done);
  void BatchGet(const kvstore::v1::BatchGetRequest* request,
                kvstore::v1::BatchGetResponse* response, absl::Time deadline, Done done);
  void Put(const kvstore::v1::PutRequest* request, kvstore::v1::PutResponse* response,
           absl::Time deadline, Done done);
  void Delete(const kvstore::v1::DeleteRequest* request, kvstore::v1::DeleteResponse* response,
              absl::Time deadline, Done done);
  void List(const kvstore::v1::ListRequest* request, kvstore::v1::ListResponse* response,
            absl::Time deadline, Done done);
  void Fetch(const kvstore::v1::FetchRequest* request, kvstore::v1::FetchResponse* response,
             absl::Time deadline, Done done);

  // A ClientContext whose deadline is `deadline` capped at now + `cap` (default: the read
  // timeout).
  std::unique_ptr<grpc::ClientContext> NewContext(absl::Time deadline) const;
  std::unique_ptr<grpc::ClientContext> NewContext(absl::Time deadline, absl::Duration cap) const;

 private:
  // Starts one async call through `start(context, on_done)` and runs `done` when it ends.
  template <typename Start>
  void Call(Start start, absl::Time deadline, absl::Duration cap, Done done);

  const UpstreamOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<kvstore::v1::KV::Stub> kv_;
  std::unique_ptr<kvstore::v1::Replication::Stub> replication_;
};

}  // namespace kv::server

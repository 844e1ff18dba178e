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

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kvstore/v1/kv.grpc.pb.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "server/node/node.h"

namespace kv::server {

// How the channel to the upstream is secured (kvd: --tls-ca, --tls-cert/--tls-key,
// --upstream-server-name).
struct UpstreamSecurity {
  // TLS credentials that verify the upstream and may present this node's certificate; null =
  // plain text.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // The name the upstream's certificate must carry instead of the host of `address` (an
  // upstream given as an IP address its certificate does not list). TLS only.
  std::string server_name;
};

struct UpstreamOptions {
  // HOST:PORT of the upstream.
  std::string address;
  // Longest wait for a forwarded read or fetch (the caller's deadline may be shorter).
  absl::Duration timeout = absl::Seconds(2);
  // Longest wait for a forwarded write when the caller set no deadline.
  absl::Duration write_timeout = absl::Seconds(30);
  // Largest gRPC message.
  int max_message_bytes = 26 << 20;
  UpstreamSecurity security;
  // A file holding this node's own token (replicate scope), presented on the replication calls
  // (Subscribe, Snapshot, Fetch); read again when it changes. Empty = none.
  std::string token_file;
};

class UpstreamClient {
 public:
  explicit UpstreamClient(UpstreamOptions options);

  const std::string& address() const { return options_.address; }
  const UpstreamOptions& options() const { return options_; }
  kvstore::v1::KV::Stub* kv() { return kv_.get(); }
  kvstore::v1::Replication::Stub* replication() { return replication_.get(); }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

  // Calls forwarded for a caller: its deadline and its credentials (`call.authorization`, which
  // the upstream checks again) go with them. `request` and `response` must stay alive until
  // `done` runs; `done` gets the upstream's status (UNAVAILABLE / DEADLINE_EXCEEDED when it
  // cannot be reached).
  void Get(const kvstore::v1::GetRequest* request, kvstore::v1::GetResponse* response,
           const CallContext& call, Done done);
  void BatchGet(const kvstore::v1::BatchGetRequest* request,
                kvstore::v1::BatchGetResponse* response, const CallContext& call, Done done);
  void Put(const kvstore::v1::PutRequest* request, kvstore::v1::PutResponse* response,
           const CallContext& call, Done done);
  void Delete(const kvstore::v1::DeleteRequest* request, kvstore::v1::DeleteResponse* response,
              const CallContext& call, Done done);
  void Commit(const kvstore::v1::CommitRequest* request, kvstore::v1::CommitResponse* response,
              const CallContext& call, Done done);
  void List(const kvstore::v1::ListRequest* request, kvstore::v1::ListResponse* response,
            const CallContext& call, Done done);
  // A replication call, with this node's own token: made by this node itself (a cold read, a
  // value fetch: `hops` 0) or passed on for a downstream's Fetch (its hops).
  void Fetch(const kvstore::v1::FetchRequest* request, kvstore::v1::FetchResponse* response,
             absl::Time deadline, int hops, Done done);

  // This node's own `authorization` value ("Bearer <token>" from options.token_file), or "" when
  // it has none (or the file cannot be read: logged).
  std::string OwnAuthorization() const;

  // A ClientContext whose deadline is `deadline` capped at now + `cap` (default: the read
  // timeout).
  std::unique_ptr<grpc::ClientContext> NewContext(absl::Time deadline) const;
  std::unique_ptr<grpc::ClientContext> NewContext(absl::Time deadline, absl::Duration cap) const;

 private:
  // Starts one async call through `start(context, on_done)` and runs `done` when it ends.
  template <typename Start>
  void Call(Start start, absl::Time deadline, absl::Duration cap, const std::string& authorization,
            int hops, Done done);

  const UpstreamOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<kvstore::v1::KV::Stub> kv_;
  std::unique_ptr<kvstore::v1::Replication::Stub> replication_;

  // The token file's content as last read, and when the file was last changed then.
  mutable absl::Mutex token_mu_;
  mutable std::string token_ ABSL_GUARDED_BY(token_mu_);
  mutable int64_t token_mtime_ns_ ABSL_GUARDED_BY(token_mu_) = -1;
};

}  // namespace kv::server

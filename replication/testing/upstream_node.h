#pragma once
// The upstream side of a full node, for tests: a VersionedStore in a directory, its Publisher
// and the Replication service on a real gRPC server at 127.0.0.1:<ephemeral>. As a central
// node it commits changes itself (store first, then the publisher, like the write pipeline);
// as a relay it is fed by a Subscriber through a FullEdgeApplier.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "replication/publisher.h"
#include "server/node/limits.h"
#include "server/node/replication_source.h"
#include "server/rpc/replication_service.h"
#include "server/storage/versioned_store.h"

namespace kv::testing {

struct UpstreamNodeOptions {
  replication::PublisherOptions publisher;
  server::ReplicationServiceOptions service;
  Clock* clock = Clock::Real();
  // This node's staleness for pongs; null = 0 (a central node).
  std::function<int64_t()> staleness;
  // A central node creates its cluster id; a relay gets one from its snapshot.
  bool central = true;
  // Whether the node can be an upstream now; null = ask set_can_serve's status (OK at first).
  std::function<absl::Status()> can_serve;
  // gRPC message limit of the server, as kvd sets it (server::Limits::MaxMessageBytes()).
  int max_message_bytes = server::Limits().MaxMessageBytes();
};

class UpstreamNode final : public server::ReplicationSource {
 public:
  static std::unique_ptr<UpstreamNode> Start(const std::string& dir, UpstreamNodeOptions options);
  // Ends every stream (FinishAll), shuts the server down and stops the publisher.
  ~UpstreamNode();

  server::VersionedStore* store() override { return store_.get(); }
  replication::Publisher* publisher() override { return publisher_.get(); }
  // options.can_serve, or what set_can_serve set (OK by default).
  absl::Status CanServeDownstreams() const override;
  server::ReplicationService* service() { return service_.get(); }
  const std::string& address() const { return address_; }
  const std::string& cluster_id() const { return cluster_id_; }
  // A client with kvd's message limit (or `max_message_bytes` when given).
  std::unique_ptr<kvstore::v1::Replication::Stub> NewStub(int max_message_bytes = 0) const;

  // Central only: gives `changes` the next versions, applies them to the store and appends them
  // to the publisher. Returns the changes as committed. Not for concurrent callers.
  std::vector<kvstore::v1::Change> Commit(std::vector<kvstore::v1::Change> changes);
  // The first half of Commit: the store only, readable but not yet appended to the publisher
  // (what a central node's commit thread has done just before it publishes). Publish is the
  // second half.
  std::vector<std::shared_ptr<const kvstore::v1::Change>> CommitToStore(
      std::vector<kvstore::v1::Change> changes);
  void Publish(const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes);
  // `n` puts of key "k<i % keys>" with `value_bytes`-byte values.
  std::vector<kvstore::v1::Change> CommitPuts(int n, size_t value_bytes = 16, int keys = 1000);

  // What the service's can_serve answers (OK by default).
  void set_can_serve(absl::Status status);

 private:
  UpstreamNode() = default;

  UpstreamNodeOptions options_;
  std::unique_ptr<server::VersionedStore> store_;
  std::unique_ptr<replication::Publisher> publisher_;
  std::unique_ptr<server::ReplicationService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::string cluster_id_;
  uint64_t next_value_ = 0;
  mutable absl::Mutex mu_;
  absl::Status can_serve_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::testing

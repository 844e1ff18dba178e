#pragma once
// gRPC Replication service. On a node that can be an upstream (the central node or a full edge,
// a ReplicationSource): Subscribe streams from its Publisher, Snapshot streams its store at one
// RocksDB snapshot, Fetch is a downstream's cold read answered by the node role. On a node that
// cannot (a cache edge), every call is refused with FAILED_PRECONDITION saying why.
//
// Threading: gRPC calls the handlers from its threads, any number at once; the service holds no
// state of its own beyond counters. The node, source, clock and tracker outlive it.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <string>

#include "common/clock.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "server/node/node.h"
#include "server/node/replication_source.h"
#include "server/rpc/call_tracker.h"

namespace kv::server {

struct ReplicationServiceOptions {
  // Bytes of keys and values per Snapshot chunk (one large value may exceed it).
  size_t snapshot_chunk_bytes = 4ull << 20;
};

class ReplicationService final : public kvstore::v1::Replication::CallbackService {
 public:
  // An upstream's service: `source` serves streams and snapshots, `node` answers Fetch (null:
  // Fetch is refused). `tracker` may be null.
  ReplicationService(ReplicationSource* source, Node* node, Clock* clock, CallTracker* tracker,
                     ReplicationServiceOptions options = {});
  // The service of a node that cannot be an upstream: refuses every call with `why`.
  explicit ReplicationService(std::string why);

  grpc::ServerBidiReactor<kvstore::v1::DownstreamMessage, kvstore::v1::UpstreamMessage>* Subscribe(
      grpc::CallbackServerContext* context) override;
  grpc::ServerWriteReactor<kvstore::v1::SnapshotChunk>* Snapshot(
      grpc::CallbackServerContext* context, const kvstore::v1::SnapshotRequest* request) override;
  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* context,
                                  const kvstore::v1::FetchRequest* request,
                                  kvstore::v1::FetchResponse* response) override;

  uint64_t snapshots_served() const { return snapshots_served_.load(); }

 private:
  // OK, or why this node does not serve downstreams now.
  absl::Status CanServe() const;

  // Constant after construction.
  ReplicationSource* const source_;
  Node* const node_;
  Clock* const clock_;
  CallTracker* const tracker_;
  const ReplicationServiceOptions options_;
  const std::string not_an_upstream_;
  std::atomic<uint64_t> snapshots_served_{0};
};

}  // namespace kv::server

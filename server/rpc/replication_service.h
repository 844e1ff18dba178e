#pragma once
// gRPC Replication service of a node that can be an upstream (the central node or a full edge):
// Subscribe streams from the Publisher, Snapshot streams the store at one RocksDB snapshot,
// Fetch is a downstream's cold read answered by the node role.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>

#include "common/clock.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "replication/publisher.h"
#include "server/rpc/call_tracker.h"
#include "server/node/node.h"
#include "server/storage/versioned_store.h"

namespace kv::server {

struct ReplicationServiceOptions {
  // Bytes of keys and values per Snapshot chunk (one large value may exceed it).
  size_t snapshot_chunk_bytes = 4ull << 20;
};

class ReplicationService final : public kvstore::v1::Replication::CallbackService {
 public:
  // `can_serve` tells whether the store is complete enough to be an upstream (a full edge in the
  // middle of its own bootstrap is not). All pointers must outlive the service.
  ReplicationService(Node* node, VersionedStore* store, replication::Publisher* publisher,
                     Clock* clock, std::function<absl::Status()> can_serve, CallTracker* tracker,
                     ReplicationServiceOptions options = {});

  grpc::ServerBidiReactor<kvstore::v1::DownstreamMessage, kvstore::v1::UpstreamMessage>* Subscribe(
      grpc::CallbackServerContext* context) override;
  grpc::ServerWriteReactor<kvstore::v1::SnapshotChunk>* Snapshot(
      grpc::CallbackServerContext* context, const kvstore::v1::SnapshotRequest* request) override;
  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* context,
                                  const kvstore::v1::FetchRequest* request,
                                  kvstore::v1::FetchResponse* response) override;

  uint64_t snapshots_served() const { return snapshots_served_.load(); }

 private:
  Node* const node_;
  VersionedStore* const store_;
  replication::Publisher* const publisher_;
  Clock* const clock_;
  const std::function<absl::Status()> can_serve_;
  CallTracker* const tracker_;
  const ReplicationServiceOptions options_;
  std::atomic<uint64_t> snapshots_served_{0};
};

}  // namespace kv::server

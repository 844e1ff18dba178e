#pragma once
// gRPC Replication service. On a node that can be an upstream (the central node or a full edge,
// a ReplicationSource): Subscribe streams from its Publisher, Snapshot streams its store at one
// RocksDB snapshot, Fetch is a downstream's cold read answered by the node role. On a node that
// cannot (a cache edge), every call is refused with FAILED_PRECONDITION saying why.
//
// Snapshots: at most max_concurrent_snapshots stream at once (the rest are refused with
// RESOURCE_EXHAUSTED, which a downstream's Subscriber answers with its backoff), and when the
// last one ends the allocator is asked to give freed memory back to the system (malloc_trim):
// a snapshot's chunks are large, short-lived allocations that glibc otherwise keeps.
//
// Subscribe is registered raw (bytes in, bytes out): the publisher writes changes it encoded
// once for every stream (replication/stream_message.h). Clients use the generated stub as usual.
//
// Threading: gRPC calls the handlers from its threads, any number at once; the service holds no
// state of its own beyond counters. The node, source, clock and tracker outlive it, and the
// service outlives the streams it started (the server is shut down before it is destroyed).

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "server/access/gatekeeper.h"
#include "server/node/node.h"
#include "server/node/replication_source.h"
#include "server/rpc/call_tracker.h"

namespace kv::server {

struct ReplicationServiceOptions {
  // Bytes of keys and values per Snapshot chunk (one large value may exceed it).
  size_t snapshot_chunk_bytes = 4ull << 20;
  // Snapshots served at once (--max-concurrent-snapshots); further Snapshot calls get
  // RESOURCE_EXHAUSTED and the downstream retries after its backoff. Each one holds a chunk,
  // its serialized copy in gRPC and RocksDB's read buffers (~10 MiB with 4 MiB chunks).
  int max_concurrent_snapshots = 2;
  // This node's chain (replication/chain.h), sent with every refusal so a downstream in a
  // replication cycle finds out; null = the source's publisher's chain (or none).
  std::function<std::vector<std::string>()> chain;
};

// The generated callback service with Subscribe raw.
using ReplicationServiceBase = kvstore::v1::Replication::WithRawCallbackMethod_Subscribe<
    kvstore::v1::Replication::WithCallbackMethod_Snapshot<
        kvstore::v1::Replication::WithCallbackMethod_Fetch<kvstore::v1::Replication::Service>>>;

class ReplicationService final : public ReplicationServiceBase {
 public:
  // An upstream's service: `source` serves streams and snapshots, `node` answers Fetch (null:
  // Fetch is refused). With `gate` requiring tokens, a peer must present a client certificate
  // of the cluster CA or a token with the `replicate` scope. `gate` and `tracker` may be null.
  ReplicationService(ReplicationSource* source, Node* node, Gatekeeper* gate, Clock* clock,
                     CallTracker* tracker, ReplicationServiceOptions options = {});
  // The service of a node that cannot be an upstream: refuses every call with `why`.
  explicit ReplicationService(std::string why, ReplicationServiceOptions options = {});

  // Reads DownstreamMessage and writes UpstreamMessage, as bytes.
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Subscribe(
      grpc::CallbackServerContext* context) override;
  grpc::ServerWriteReactor<kvstore::v1::SnapshotChunk>* Snapshot(
      grpc::CallbackServerContext* context, const kvstore::v1::SnapshotRequest* request) override;
  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* context,
                                  const kvstore::v1::FetchRequest* request,
                                  kvstore::v1::FetchResponse* response) override;

  uint64_t snapshots_served() const { return snapshots_served_.load(); }
  // Snapshots being streamed now, and Snapshot calls refused by the limit since the start.
  int snapshots_active() const { return snapshots_active_.load(); }
  uint64_t snapshots_refused() const { return snapshots_refused_.load(); }

 private:
  // OK, or why this node does not serve downstreams now.
  absl::Status CanServe() const;
  // A snapshot stream ended: frees its slot (and memory, after the last one).
  void EndSnapshot();
  // Refusals carry this node's chain in the trailing metadata.
  void AddChain(grpc::CallbackServerContext* context) const;
  // OK when the peer may replicate from this node; sets who it proved to be.
  absl::Status AdmitPeer(grpc::ServerContextBase* context, CallContext* call,
                         std::string* identity);

  // Constant after construction.
  ReplicationSource* const source_;
  Node* const node_;
  Gatekeeper* const gate_;
  Clock* const clock_;
  CallTracker* const tracker_;
  const ReplicationServiceOptions options_;
  const std::string not_an_upstream_;
  std::atomic<uint64_t> snapshots_served_{0};
  std::atomic<int> snapshots_active_{0};
  std::atomic<uint64_t> snapshots_refused_{0};
};

}  // namespace kv::server

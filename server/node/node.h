#pragma once
// The node role behind the public services. The gRPC services (KV, Replication.Fetch, Admin)
// and the HTTP gateway are thin adapters over this interface; the central node
// (server/central/central_node.h) and the two kinds of edge (server/edge/) implement it.
//
// Threading: every method may be called from any thread, any number at once. The request and
// response objects belong to the caller and must stay alive until `done` runs; `done` runs
// exactly once, on the calling thread or on one of the node's own (a commit, an upstream answer,
// a stream apply, a timer). GetStatus and Ready answer at once.

#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kvstore/v1/admin.pb.h"
#include "kvstore/v1/kv.pb.h"
#include "kvstore/v1/replication.pb.h"
#include "server/node/shared_read.h"

namespace kv::auth {
struct Principal;
}

namespace kv::server {

// Per-call facts the node needs from the transport.
struct CallContext {
  // When the caller stops waiting; forwarded calls carry it upstream. InfiniteFuture = none.
  absl::Time deadline = absl::InfiniteFuture();
  // "ipv4:127.0.0.1:5555", for logs.
  std::string peer;
  // The caller's credentials as received (the `authorization` value, "Bearer ..."): an edge
  // forwards them with the calls it passes upstream, and the central node checks them again.
  // Empty when the caller sent none.
  std::string authorization;
  // The verified caller, set by the Gatekeeper when the node requires tokens; null otherwise.
  std::shared_ptr<const auth::Principal> principal;
  // How many nodes have forwarded this call already (metadata "kv-hops"): an edge forwards it
  // with one more, and refuses past kMaxForwardingHops, so a ring of edges cannot bounce a call
  // around forever.
  int hops = 0;
};

inline constexpr int kMaxForwardingHops = 16;
inline constexpr char kHopsMetadataKey[] = "kv-hops";

// Called exactly once when a call completes, possibly on another thread and possibly before the
// call that took it returns. The response object must stay alive until then.
using Done = absl::AnyInvocable<void(absl::Status) &&>;

class Node {
 public:
  virtual ~Node() = default;

  virtual void Get(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
                   const CallContext& call, Done done) = 0;
  virtual void BatchGet(const kvstore::v1::BatchGetRequest& request,
                        kvstore::v1::BatchGetResponse* response, const CallContext& call,
                        Done done) = 0;
  virtual void Put(const kvstore::v1::PutRequest& request, kvstore::v1::PutResponse* response,
                   const CallContext& call, Done done) = 0;
  virtual void Delete(const kvstore::v1::DeleteRequest& request,
                      kvstore::v1::DeleteResponse* response, const CallContext& call,
                      Done done) = 0;
  virtual void List(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
                    const CallContext& call, Done done) = 0;
  // Checks and mutations of several keys applied at one version, or not at all
  // (docs/client.md, "Atomic commits"). Nodes that cannot write answer UNIMPLEMENTED.
  virtual void Commit(const kvstore::v1::CommitRequest& request,
                      kvstore::v1::CommitResponse* response, const CallContext& call, Done done) {
    std::move(done)(absl::UnimplementedError("this node does not take commits"));
  }
  // A downstream's cold read: the same rules as Get, counted apart.
  virtual void Fetch(const kvstore::v1::FetchRequest& request, kvstore::v1::FetchResponse* response,
                     const CallContext& call, Done done) = 0;

  // Get and BatchGet answered at once from memory, the values shared instead of copied (a cache
  // edge's hits within the caller's bounds): true with `out` filled, as the call would have
  // answered. False when the node does not answer this read so (a miss, a read it would forward
  // or wait for, an invalid request, a node without such a path): nothing was recorded (no
  // access, no miss, no refusal), and the caller makes the ordinary call, which decides again.
  // Keys and options are those of the ordinary call; `keys` at most the batch limit.
  virtual bool TryGetShared(absl::string_view key, const kvstore::v1::ReadOptions& options,
                            const CallContext& call, SharedRead* out) {
    return false;
  }
  virtual bool TryBatchGetShared(absl::Span<const absl::string_view> keys,
                                 const kvstore::v1::ReadOptions& options, const CallContext& call,
                                 SharedBatchRead* out) {
    return false;
  }

  // A hint: these keys are about to be read (the next commands of a pipeline). A node that
  // answers from memory may start fetching their entries now, so the reads' cache misses
  // overlap. It answers nothing, records nothing (no access, no hit) and changes no read;
  // a node may ignore it. At most a few dozen keys.
  virtual void PrefetchReads(absl::Span<const absl::string_view> keys) {}

  // A snapshot of the node's state for Admin.Status and the metrics gauges.
  virtual void GetStatus(kvstore::v1::StatusResponse* status) = 0;
  // True when the node can serve reads within its staleness bound; otherwise why not.
  virtual bool Ready(std::string* why_not) = 0;
};

}  // namespace kv::server

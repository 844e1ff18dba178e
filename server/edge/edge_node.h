#pragma once
// An edge node: serves reads next to users within a staleness bound, forwards what it cannot
// answer to its upstream, and forwards writes up the chain to the central node.
//
// EdgeNode is what both modes share; FullEdge (full_edge.h) and CacheEdge (cache_edge.h) are
// what differs: how a local read is answered, what the stream is applied into, and whether the
// node can be an upstream (only a full edge can). kvd picks the type from --mode once.
//
// Read routing (docs/design.md, "The read path at an edge"), decided here for every mode:
//   strong                            -> upstream (which forwards to the central node)
//   staleness > max_staleness         -> upstream; unreachable -> UNAVAILABLE, or the local
//                                        copy labelled stale when allow_stale is set
//   min_version > applied             -> wait up to --min-version-wait for the stream, then
//                                        upstream
//   otherwise                         -> local (the mode's ReadLocal), which may read through
//
// Threading: the Node methods are called from gRPC and HTTP threads, any number at once, and
// each calls its Done exactly once (possibly on another thread: an upstream answer, a stream
// apply, a waiter's timer). Start and Stop are called once each by kvd's main thread. Members
// below say which are constant and which are synchronised by what.
// Ownership: the node owns its upstream client, subscriber, waiters and (in the subclasses) its
// data; the Clock outlives it.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "replication/freshness.h"
#include "replication/subscriber.h"
#include "server/edge/edge_options.h"
#include "server/edge/read_route.h"
#include "server/edge/upstream_client.h"
#include "server/edge/version_waiters.h"
#include "server/node/node.h"
#include "server/watch/watch_hub.h"

namespace kv::server {

class EdgeNode : public Node {
 public:
  ~EdgeNode() override;

  // Starts replication and the mode's background work once serving on `advertised_address`.
  // Serving can start before the upstream is up.
  void Start(const std::string& advertised_address);
  // Stops replication and background work; call after the RPC server has shut down. Runs once;
  // later calls return at once. Each subclass's destructor calls it.
  void Stop();

  // Node.
  void Get(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
           const CallContext& call, Done done) final;
  void BatchGet(const kvstore::v1::BatchGetRequest& request,
                kvstore::v1::BatchGetResponse* response, const CallContext& call, Done done) final;
  void Put(const kvstore::v1::PutRequest& request, kvstore::v1::PutResponse* response,
           const CallContext& call, Done done) final;
  void Delete(const kvstore::v1::DeleteRequest& request, kvstore::v1::DeleteResponse* response,
              const CallContext& call, Done done) final;
  void Commit(const kvstore::v1::CommitRequest& request, kvstore::v1::CommitResponse* response,
              const CallContext& call, Done done) final;
  void List(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
            const CallContext& call, Done done) final;
  void Fetch(const kvstore::v1::FetchRequest& request, kvstore::v1::FetchResponse* response,
             const CallContext& call, Done done) final;
  // Routed as Get and BatchGet; answered by the mode's ReadLocalShared and BatchGetLocalShared
  // when the route is local at once (no min_version wait, no forwarding).
  bool TryGetShared(absl::string_view key, const kvstore::v1::ReadOptions& options,
                    const CallContext& call, SharedRead* out) final;
  void PrefetchReads(absl::Span<const absl::string_view> keys) final { PrefetchLocal(keys); }
  bool TryBatchGetShared(absl::Span<const absl::string_view> keys,
                         const kvstore::v1::ReadOptions& options, const CallContext& call,
                         SharedBatchRead* out) final;
  void GetStatus(kvstore::v1::StatusResponse* status) final;
  bool Ready(std::string* why_not) final;

  const EdgeOptions& options() const { return options_; }
  // This node's chain (replication/chain.h): its id, then its upstream's chain as last learned.
  std::vector<std::string> Chain() const;
  int64_t StalenessMicros() const { return freshness_.StalenessMicros(); }
  uint64_t fetches_served() const { return fetches_.load(); }
  // The version the local data holds (full) or follows (cache).
  virtual uint64_t applied_version() const = 0;
  // Every change of the stream this node applies, for watchers; set by the mode's Open.
  WatchHub* watch_hub() { return watch_hub_.get(); }

 protected:
  // Where a read is answered (server/edge/read_route.h).
  using Route = ReadRoute;

  EdgeNode(const EdgeOptions& options, Clock* clock);
  // What every mode's Open checks first: the options are for `mode` and name an upstream.
  static absl::Status CheckOptions(const EdgeOptions& options, EdgeMode mode);

  // --- What each mode provides ------------------------------------------------------------
  // Cluster id of the history the local data belongs to; empty before the first sync.
  virtual std::string cluster_id() const = 0;
  // The local data cannot be served or resumed yet (a full edge before its first snapshot).
  virtual bool NeedsBootstrap() const = 0;
  // The subscriber that applies the stream into this mode's data.
  virtual std::unique_ptr<replication::Subscriber> NewSubscriber(
      replication::SubscriberOptions options) = 0;
  // The mode's background work, started before the subscriber and stopped after it.
  virtual void StartMode() {}
  virtual void StopMode() {}
  // Answers a read locally. `stale_fallback`: the upstream was needed and is unreachable, and
  // the caller accepts a stale answer, so nothing may be read through. Calls `done` once.
  virtual void ReadLocal(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
                         const CallContext& call, Done done, bool stale_fallback) = 0;
  virtual void ReadLocal(const kvstore::v1::FetchRequest& request,
                         kvstore::v1::FetchResponse* response, const CallContext& call, Done done,
                         bool stale_fallback) = 0;
  virtual void BatchGetLocal(const kvstore::v1::BatchGetRequest& request,
                             kvstore::v1::BatchGetResponse* response, const CallContext& call,
                             Done done, bool stale_fallback) = 0;
  // A local read answered at once from memory, values shared (Node::TryGetShared): true with
  // `out` filled as ReadLocal and BatchGetLocal would answer, labelled with `staleness` (the
  // caller sampled it before the read, and routed the read by it); false when the mode does not
  // answer it so (a cache miss: ReadLocal reads it through), having recorded nothing.
  // Whether the mode has them at all (else the shared reads are refused before routing).
  virtual bool HasSharedReads() const { return false; }
  // Node::PrefetchReads, for the mode's in-memory data.
  virtual void PrefetchLocal(absl::Span<const absl::string_view> keys) {}
  // A shared read's ReadInfo, as FillInfo fills it.
  SharedReadInfo SharedInfo(uint64_t as_of, int64_t staleness, kvstore::v1::Source source) const {
    return {.staleness_micros = staleness,
            .source = source,
            .as_of_version = as_of,
            .node_id = options_.node_id};
  }
  virtual bool ReadLocalShared(absl::string_view key, int64_t staleness, SharedRead* out) {
    return false;
  }
  virtual bool BatchGetLocalShared(absl::Span<const absl::string_view> keys, int64_t staleness,
                                   SharedBatchRead* out) {
    return false;
  }
  // One List page from local data, or nullopt when the page must be listed upstream.
  virtual std::optional<absl::Status> ListLocal(const kvstore::v1::ListRequest& request,
                                                kvstore::v1::ListResponse* response,
                                                bool stale_fallback) = 0;
  // Why the local data must not be answered from (a checksum mismatch no snapshot has healed
  // yet), or "" when it may. Reads are then forwarded as for a too-stale edge, with no stale
  // fallback, and the node is not ready.
  virtual std::string LocalDataSuspect() const { return ""; }
  // The upstream's chain changed (a full edge passes it on to its own downstreams).
  virtual void OnUpstreamChain(const std::vector<std::string>& upstream_chain) {}
  // The mode's part of Admin.Status (key counts, cache or log figures, downstreams).
  virtual void FillModeStatus(kvstore::v1::StatusResponse* status) = 0;

  // --- What both modes use ----------------------------------------------------------------
  // Forwards a read to the upstream as the same call; on an unreachable upstream falls back to
  // the local copy when the route and the caller allow it. Calls `done` once.
  void ReadUpstream(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
                    const CallContext& call, Done done, Route route);
  void ReadUpstream(const kvstore::v1::FetchRequest& request, kvstore::v1::FetchResponse* response,
                    const CallContext& call, Done done, Route route);
  void BatchGetUpstream(const kvstore::v1::BatchGetRequest& request,
                        kvstore::v1::BatchGetResponse* response, const CallContext& call, Done done,
                        Route route);
  // Labels a local answer: this node's staleness, `source`, as of version `as_of`.
  // `staleness`: freshness()->StalenessMicros() taken BEFORE the data was read (a pong credited
  // after the read could vouch for versions the answer lacks).
  void FillInfo(uint64_t as_of, int64_t staleness, kvstore::v1::Source source,
                kvstore::v1::ReadInfo* info) const;
  // The error for a read that had to go upstream and could not.
  absl::Status UpstreamFailed(Route route, const kvstore::v1::ReadOptions& options,
                              const absl::Status& status) const;
  UpstreamClient* upstream() { return &upstream_; }
  // Creates and starts the watch hub (the mode's Open, once its data is open): `log` is the
  // node's change log, or null when it has none (a cache edge).
  void OpenWatchHub(const replication::ChangeLog* log, uint64_t applied_version);
  replication::FreshnessTracker* freshness() { return &freshness_; }

  // Constant after construction.
  const EdgeOptions options_;
  Clock* const clock_;
  const int64_t started_micros_;

 private:
  // Decides where a read is answered; may wait for min_version. Calls `next` exactly once.
  void Decide(const kvstore::v1::ReadOptions& options, const CallContext& call,
              absl::AnyInvocable<void(Route) &&> next);
  // Decide's answer without waiting: kBehind means it would wait for min_version.
  Route RouteNow(const kvstore::v1::ReadOptions& options) const {
    return RouteNow(options, freshness_.StalenessMicros());
  }
  // With the staleness the caller sampled (a shared read routes and labels with one sample).
  Route RouteNow(const kvstore::v1::ReadOptions& options, int64_t staleness_micros) const;
  int64_t BoundMicros(const kvstore::v1::ReadOptions& options) const;
  // Wraps the Done of a write forwarded upstream: an unreachable upstream is named.
  Done ForwardedWriteDone(Done done) const;
  // The shared rule (read_route.h) for this node: may a kStale read whose upstream call failed
  // with `upstream` be answered from the local copy, labelled stale?
  bool FallBackToStale(Route route, const kvstore::v1::ReadOptions& options,
                       const absl::Status& upstream) const;
  // Get and Fetch share everything but the upstream call they forward as.
  template <typename Request, typename Response>
  void ReadOne(const Request& request, Response* response, const CallContext& call, Done done);
  // Every read sent upstream (Get, Fetch, BatchGet, List): with the bound it was routed by
  // (forwarded_read.h), its answer's sources relabelled; when the upstream is unreachable and
  // the rule allows, `stale_local(done)` answers from the local copy, labelled stale.
  template <typename Request, typename Response, typename StaleLocal>
  void ForwardRead(const Request& request, Response* response, const CallContext& call, Done done,
                   Route route, StaleLocal stale_local);
  void ListRouted(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
                  const CallContext& call, Done done, Route route, bool stale_fallback);

  // Thread-safe by themselves; the hub is set by OpenWatchHub, before serving.
  std::unique_ptr<WatchHub> watch_hub_;
  replication::FreshnessTracker freshness_;
  UpstreamClient upstream_;
  VersionWaiters waiters_;
  // Set once by Start, while Status may already be asked for.
  mutable absl::Mutex subscriber_mu_;
  std::unique_ptr<replication::Subscriber> subscriber_ ABSL_GUARDED_BY(subscriber_mu_);
  mutable absl::Mutex chain_mu_;
  std::vector<std::string> upstream_chain_ ABSL_GUARDED_BY(chain_mu_);
  // Counters and flags.
  std::atomic<uint64_t> fetches_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace kv::server

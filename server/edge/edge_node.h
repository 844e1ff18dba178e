#pragma once
// An edge node: serves reads next to users within a staleness bound, forwards what it cannot
// answer to its upstream, and forwards writes up the chain to the central node.
//
// Read routing (DESIGN.md, "The read path at an edge"):
//   strong                            -> upstream (which forwards to the central node)
//   staleness > max_staleness         -> upstream; unreachable -> UNAVAILABLE, or the local
//                                        copy labelled stale when allow_stale is set
//   min_version > applied             -> wait up to --min-version-wait for the stream, then
//                                        upstream
//   otherwise                         -> local (full: RocksDB; cache: the hot-key cache), with
//                                        misses read through from the upstream
//
// Modes: `full` holds every key in a VersionedStore and can be the upstream of other edges (a
// relay); `cache` holds only hot keys (server/cache_edge.h).

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "replication/freshness.h"
#include "replication/log_retention.h"
#include "replication/publisher.h"
#include "replication/subscriber.h"
#include "server/node/limits.h"
#include "server/node/node.h"
#include "server/storage/versioned_store.h"
#include "server/edge/upstream_client.h"
#include "server/edge/value_fetcher.h"
#include "server/edge/version_waiters.h"

namespace kv::server {

class FullEdgeApplier;
class CacheStore;

struct EdgeOptions {
  // "full" or "cache".
  std::string mode = "full";
  std::string data_dir;
  std::string node_id = "edge";
  Limits limits;
  UpstreamOptions upstream;
  // Default bound for bounded reads (--max-staleness); also the readiness bound.
  absl::Duration max_staleness = absl::Seconds(5);
  // How long a min_version read waits for the stream before going upstream.
  absl::Duration min_version_wait = absl::Milliseconds(200);
  // Ping period on the replication stream.
  absl::Duration ping_interval = absl::Milliseconds(50);
  // Reconnect backoff bounds.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Full mode, as a relay: change-log retention and what it pushes down.
  replication::LogRetentionOptions retention;
  uint64_t push_value_limit = 64 << 10;
  size_t publisher_tail_changes = 100000;
  uint64_t publisher_tail_bytes = 64ull << 20;
  uint64_t block_cache_bytes = 256ull << 20;
  // Cache mode: memory for cached keys, values and their overhead.
  uint64_t cache_bytes = 256ull << 20;
};

class EdgeNode final : public Node {
 public:
  static absl::StatusOr<std::unique_ptr<EdgeNode>> Open(const EdgeOptions& options, Clock* clock);
  ~EdgeNode() override;

  // Starts replication (and background fetches) once serving on `advertised_address`. Serving
  // can start before the upstream is up.
  void Start(const std::string& advertised_address);
  // Stops replication and background work; call after the RPC server has shut down.
  void Stop();

  void Get(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
           const CallContext& call, Done done) override;
  void BatchGet(const kvstore::v1::BatchGetRequest& request,
                kvstore::v1::BatchGetResponse* response, const CallContext& call,
                Done done) override;
  void Put(const kvstore::v1::PutRequest& request, kvstore::v1::PutResponse* response,
           const CallContext& call, Done done) override;
  void Delete(const kvstore::v1::DeleteRequest& request, kvstore::v1::DeleteResponse* response,
              const CallContext& call, Done done) override;
  void List(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
            const CallContext& call, Done done) override;
  void Fetch(const kvstore::v1::FetchRequest& request, kvstore::v1::FetchResponse* response,
             const CallContext& call, Done done) override;
  void GetStatus(kvstore::v1::StatusResponse* status) override;
  bool Ready(std::string* why_not) override;

  bool full() const { return options_.mode == "full"; }
  const EdgeOptions& options() const { return options_; }
  // Full mode only (null in cache mode).
  VersionedStore* store() { return store_.get(); }
  replication::Publisher* publisher() { return publisher_.get(); }
  // Whether this node can be an upstream right now (full and bootstrapped).
  absl::Status CanServeDownstreams() const;
  int64_t StalenessMicros() const { return freshness_.StalenessMicros(); }
  uint64_t applied_version() const;
  uint64_t fetches_served() const { return fetches_.load(); }

 private:
  enum class Route { kLocal, kStrong, kStale, kBehind };
  EdgeNode(const EdgeOptions& options, Clock* clock);

  // Decides where a read is answered; may wait for min_version. Calls `next` exactly once.
  void Decide(const kvstore::v1::ReadOptions& options, const CallContext& call,
              absl::AnyInvocable<void(Route) &&> next);
  int64_t BoundMicros(const kvstore::v1::ReadOptions& options) const;
  void FillInfo(uint64_t as_of, kvstore::v1::Source source, kvstore::v1::ReadInfo* info) const;
  // The error for a read that had to go upstream and could not.
  absl::Status UpstreamFailed(Route route, const kvstore::v1::ReadOptions& options,
                              const absl::Status& status) const;
  // Whether a failure of the upstream call means "could not reach it" (vs. its answer).
  static bool Unreachable(const absl::Status& status);
  // Wraps the Done of a write forwarded upstream: an unreachable upstream is named.
  Done ForwardedWriteDone(Done done) const;
  // A stale local answer may stand in for an unreachable upstream only when asked for
  // (allow_stale) and when it holds the version the read requires (min_version).
  bool StaleFallbackAllowed(const kvstore::v1::ReadOptions& options) const;

  // One-key reads: Get and Fetch share everything but the upstream call they forward as.
  template <typename Request, typename Response>
  void ReadOne(const Request& request, Response* response, const CallContext& call, Done done);
  template <typename Request, typename Response>
  void ReadOneLocal(const Request& request, Response* response, const CallContext& call, Done done,
                    bool stale_fallback);
  template <typename Request, typename Response>
  void ReadOneCached(const Request& request, Response* response, const CallContext& call, Done done,
                     bool stale_fallback);
  // Starts the one upstream fetch for a cold key (cache mode).
  void StartFetch(const std::string& key);
  void BatchGetCached(const kvstore::v1::BatchGetRequest& request,
                      kvstore::v1::BatchGetResponse* response, const CallContext& call, Done done,
                      bool stale_fallback);
  template <typename Request, typename Response>
  void ReadOneUpstream(const Request& request, Response* response, const CallContext& call,
                       Done done, Route route);
  void BatchGetLocal(const kvstore::v1::BatchGetRequest& request,
                     kvstore::v1::BatchGetResponse* response, const CallContext& call, Done done,
                     bool stale_fallback);
  void BatchGetUpstream(const kvstore::v1::BatchGetRequest& request,
                        kvstore::v1::BatchGetResponse* response, const CallContext& call, Done done,
                        Route route);
  void ListLocalOrUpstream(const kvstore::v1::ListRequest& request,
                           kvstore::v1::ListResponse* response, const CallContext& call, Done done,
                           Route route, bool stale_fallback);

  const EdgeOptions options_;
  Clock* const clock_;
  const int64_t started_micros_;
  replication::FreshnessTracker freshness_;
  std::unique_ptr<UpstreamClient> upstream_;
  VersionWaiters waiters_;
  // Full mode.
  std::unique_ptr<VersionedStore> store_;
  std::unique_ptr<replication::Publisher> publisher_;
  std::unique_ptr<ValueFetcher> fetcher_;
  std::unique_ptr<FullEdgeApplier> full_store_;
  std::unique_ptr<replication::LogRetention> retention_;
  // Cache mode.
  std::unique_ptr<CacheStore> cache_;
  // Whichever of the two the stream applies into.
  replication::ChangeApplier* applier_ = nullptr;
  std::unique_ptr<replication::Subscriber> subscriber_;
  std::atomic<uint64_t> fetches_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace kv::server

#pragma once
// A cache edge: holds only hot keys (CacheStore: W-TinyLFU in memory, persisted for a warm
// restart), reads cold keys through from its upstream with one coalesced fetch per key, and
// sends List upstream. It cannot be an upstream: it has no ReplicationSource.
//
// It starts (and, after a RESET, starts over) at its upstream's head, so it is the HeadFollower
// its subscriber is given: dropping the cache is the CacheStore's job, and fetching the cluster
// data again (the key set it holds may be from a history it no longer follows) is its own.
//
// Threading: as EdgeNode; the cluster-data fetch runs on a periodic task and completes on a gRPC
// thread. Ownership: owns its CacheStore, created by Open.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/periodic_task.h"
#include "replication/change_applier.h"
#include "server/edge/cache_store.h"
#include "server/edge/edge_node.h"
#include "server/watch/watched_applier.h"

namespace kv::server {

class CacheEdge final : public EdgeNode, public replication::HeadFollower {
 public:
  // Opens (or creates) the persisted cache in options.data_dir. options.mode must be kCache.
  static absl::StatusOr<std::unique_ptr<CacheEdge>> Open(const EdgeOptions& options, Clock* clock);
  ~CacheEdge() override;

  uint64_t applied_version() const override { return cache_->applied_version(); }

  // HeadFollower: drops the cache, then fetches the cluster data again.
  absl::Status StartFrom(uint64_t version, const std::string& cluster_id) override;

 private:
  CacheEdge(const EdgeOptions& options, Clock* clock) : EdgeNode(options, clock) {}

  std::string cluster_id() const override { return cache_->cluster_id(); }
  // A cache edge starts at its upstream's head: nothing to bootstrap.
  bool NeedsBootstrap() const override { return false; }
  std::unique_ptr<replication::Subscriber> NewSubscriber(
      replication::SubscriberOptions options) override;
  void StartMode() override;
  void StopMode() override;
  void ReadLocal(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
                 const CallContext& call, Done done, bool stale_fallback) override;
  void ReadLocal(const kvstore::v1::FetchRequest& request, kvstore::v1::FetchResponse* response,
                 const CallContext& call, Done done, bool stale_fallback) override;
  void BatchGetLocal(const kvstore::v1::BatchGetRequest& request,
                     kvstore::v1::BatchGetResponse* response, const CallContext& call, Done done,
                     bool stale_fallback) override;
  // Hits only; a miss (nothing recorded) is left to ReadLocal and BatchGetLocal.
  bool HasSharedReads() const override { return true; }
  void PrefetchLocal(absl::Span<const absl::string_view> keys) override { cache_->Prefetch(keys); }
  bool ReadLocalShared(absl::string_view key, int64_t staleness, SharedRead* out) override;
  bool BatchGetLocalShared(absl::Span<const absl::string_view> keys, int64_t staleness,
                           SharedBatchRead* out) override;
  std::optional<absl::Status> ListLocal(const kvstore::v1::ListRequest& request,
                                        kvstore::v1::ListResponse* response,
                                        bool stale_fallback) override;
  void FillModeStatus(kvstore::v1::StatusResponse* status) override;

  // Get and Fetch: a cached answer, or a join of the one upstream fetch for a cold key.
  template <typename Request, typename Response>
  void ReadCached(const Request& request, Response* response, const CallContext& call, Done done,
                  bool stale_fallback);
  // Starts the one upstream fetch for a cold key.
  void StartFetch(const std::string& key);
  // Fetches the key set from the upstream when the CacheStore needs it (one fetch at a time).
  void FetchClusterDataIfNeeded();

  // Set by Open, constant after it.
  std::unique_ptr<CacheStore> cache_;
  std::unique_ptr<WatchedApplier> watched_;  // cache_ as the stream's applier, feeding watchers
  std::unique_ptr<PeriodicTask> cluster_fetch_;

  // The cluster-data fetch in flight (at most one); Stop waits for it.
  absl::Mutex fetch_mu_;
  bool cluster_fetch_in_flight_ ABSL_GUARDED_BY(fetch_mu_) = false;
};

}  // namespace kv::server

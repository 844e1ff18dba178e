#pragma once
// A full edge: holds every key in a VersionedStore (RocksDB), answers reads and List from it,
// and can be the upstream of other edges (a relay), so it is a ReplicationSource too.
//
// Its data: the store; the HotReadCache in front of it (hot keys in memory, kept coherent by the
// applier; absent with --hot-cache-bytes 0); the FullEdgeApplier that writes the stream into it and
// hands each batch to this node's own Publisher; the ValueFetcher that fetches large values
// announced as invalidations; the LogRetention that trims the relayed change log.
//
// Threading: as EdgeNode. Ownership: owns all of the above; they are created by Open and live
// until the node is destroyed (after Stop).

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "replication/log_retention.h"
#include "replication/publisher.h"
#include "server/edge/edge_node.h"
#include "server/edge/full_edge_applier.h"
#include "server/edge/hot_read_cache.h"
#include "server/edge/value_fetcher.h"
#include "server/node/replication_source.h"
#include "server/storage/versioned_store.h"

namespace kv::server {

class FullEdge final : public EdgeNode, public ReplicationSource {
 public:
  // Opens (or creates) the store in options.data_dir. options.mode must be kFull.
  static absl::StatusOr<std::unique_ptr<FullEdge>> Open(const EdgeOptions& options, Clock* clock);
  ~FullEdge() override;

  uint64_t applied_version() const override { return store_->head_version(); }

  // ReplicationSource: a full edge serves downstreams once its own bootstrap is complete.
  VersionedStore* store() override { return store_.get(); }
  replication::Publisher* publisher() override { return publisher_.get(); }
  absl::Status CanServeDownstreams() const override;

 private:
  FullEdge(const EdgeOptions& options, Clock* clock) : EdgeNode(options, clock) {}

  std::string cluster_id() const override { return store_->cluster_id(); }
  bool NeedsBootstrap() const override { return applier_->NeedsBootstrap(); }
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
  std::optional<absl::Status> ListLocal(const kvstore::v1::ListRequest& request,
                                        kvstore::v1::ListResponse* response,
                                        bool stale_fallback) override;
  void FillModeStatus(kvstore::v1::StatusResponse* status) override;
  std::string LocalDataSuspect() const override;
  // Hits of the hot read cache (when it is on), answered as ReadStore and BatchGetLocal answer
  // them.
  bool HasSharedReads() const override { return hot_cache_ != nullptr; }
  void PrefetchLocal(absl::Span<const absl::string_view> keys) override {
    if (hot_cache_) hot_cache_->Prefetch(keys);
  }
  bool ReadLocalShared(absl::string_view key, int64_t staleness, SharedRead* out) override;
  bool BatchGetLocalShared(absl::Span<const absl::string_view> keys, int64_t staleness,
                           SharedBatchRead* out) override;
  void OnUpstreamChain(const std::vector<std::string>& upstream_chain) override {
    publisher_->SetUpstreamChain(upstream_chain);
  }

  // Get and Fetch: one key from the store, read through while its value is not fetched yet.
  template <typename Request, typename Response>
  void ReadStore(const Request& request, Response* response, const CallContext& call, Done done,
                 bool stale_fallback);

  // Set by Open, constant after it.
  std::unique_ptr<VersionedStore> store_;
  std::unique_ptr<HotReadCache> hot_cache_;  // null: disabled
  std::unique_ptr<replication::Publisher> publisher_;
  std::unique_ptr<ValueFetcher> fetcher_;
  std::unique_ptr<FullEdgeApplier> applier_;
  std::unique_ptr<replication::LogRetention> retention_;
};

}  // namespace kv::server

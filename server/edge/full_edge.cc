#include "server/edge/full_edge.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/units.h"
#include "server/edge/cached_value_proto.h"
#include "server/edge/hot_reads.h"
#include "server/storage/cluster_data.h"
#include "server/storage/data_dir_role.h"
#include "server/storage/store_reads.h"
#include "server/storage/store_status.h"

namespace kv::server {

absl::StatusOr<std::unique_ptr<FullEdge>> FullEdge::Open(const EdgeOptions& options, Clock* clock) {
  if (auto s = CheckOptions(options, EdgeMode::kFull); !s.ok()) return s;
  std::unique_ptr<FullEdge> node(new FullEdge(options, clock));
  // Before RocksDB touches it: a central node's directory is refused unchanged.
  if (auto s = ClaimDataDir(options.data_dir, DataDirRole::kEdgeFull); !s.ok()) return s;
  StoreOptions store_options;
  store_options.path = options.data_dir;
  store_options.sync = false;  // what a crash takes is re-streamed from the upstream
  store_options.index_expirations = false;
  store_options.block_cache_bytes = options.full.block_cache_bytes;
  store_options.disk.min_free_bytes = options.full.min_free_disk_bytes;
  auto store = VersionedStore::Open(store_options);
  if (!store.ok()) return store.status();
  node->store_ = std::move(*store);

  replication::PublisherOptions pub;
  pub.node_id = options.node_id;
  pub.push_value_limit = options.full.push_value_limit;
  pub.tail_changes = options.full.publisher_tail_changes;
  pub.tail_bytes = options.full.publisher_tail_bytes;
  VersionedStore* readable = node->store_.get();
  pub.readable_head = [readable] { return readable->head_version(); };
  FullEdge* self = node.get();
  node->publisher_ = std::make_unique<replication::Publisher>(
      &node->store_->log(), clock, pub, node->store_->cluster_id(), node->store_->head_version(),
      [self] { return self->StalenessMicros(); });
  node->publisher_->SetHistoryId(node->store_->history_id());
  node->fetcher_ =
      std::make_unique<ValueFetcher>(node->store_.get(), node->upstream(), options.node_id);
  node->applier_ = std::make_unique<FullEdgeApplier>(node->store_.get(), node->publisher_.get(),
                                                     node->fetcher_.get(), options.on_cluster_data);
  if (options.full.hot_cache_bytes > 0) {
    HotReadCache::Options hot;
    hot.capacity_bytes = options.full.hot_cache_bytes;
    node->hot_cache_ = std::make_unique<HotReadCache>(hot);
    node->applier_->SetHotCache(node->hot_cache_.get());
  }
  if (auto s = ReportClusterData(*node->store_, options.on_cluster_data, /*restart=*/true);
      !s.ok()) {
    return s;
  }
  {
    // What changed on disk while the node was down shows here, before anything is served.
    const int64_t started = clock->MonotonicMicros();
    if (auto s = node->applier_->VerifyStoredData(); !s.ok()) return s;
    KV_LOG(INFO) << "checked the dataset checksum of " << options.data_dir << " in "
                 << (clock->MonotonicMicros() - started) / 1000 << " ms";
  }
  node->retention_ =
      std::make_unique<replication::LogRetention>(&node->store_->log(), options.full.retention);
  node->OpenWatchHub(&node->store_->log(), node->store_->head_version());
  node->applier_->SetWatchHub(node->watch_hub());
  KV_LOG(INFO) << "edge " << options.node_id << " (full) opened " << options.data_dir
               << " at version " << node->applied_version()
               << (node->applier_->NeedsBootstrap() ? " (needs a snapshot)" : "") << "; hot cache "
               << (node->hot_cache_ ? FormatByteSize(options.full.hot_cache_bytes) : "off")
               << "; upstream " << options.upstream.address;
  return node;
}

FullEdge::~FullEdge() { Stop(); }

std::unique_ptr<replication::Subscriber> FullEdge::NewSubscriber(
    replication::SubscriberOptions options) {
  return std::make_unique<replication::Subscriber>(
      upstream()->replication(), options_.upstream.address, applier_.get(), applier_.get(),
      freshness(), clock_, std::move(options));
}

void FullEdge::StartMode() { fetcher_->Start(); }

void FullEdge::StopMode() {
  // Also runs from the destructor of a node whose Open failed part-way (a refused data
  // directory, a locked store): only what was built is stopped.
  if (fetcher_) fetcher_->Stop();
  if (retention_) retention_->Stop();
  if (publisher_) {
    publisher_->FinishAll();
    publisher_->Stop();
  }
}

absl::Status FullEdge::CanServeDownstreams() const {
  if (applier_->NeedsBootstrap()) {
    return absl::UnavailableError(absl::StrCat("edge ", options_.node_id,
                                               " has not finished its own bootstrap from ",
                                               options_.upstream.address));
  }
  return absl::OkStatus();
}

template <typename Request, typename Response>
void FullEdge::ReadStore(const Request& request, Response* response, const CallContext& call,
                         Done done, bool stale_fallback) {
  const int64_t staleness = freshness()->StalenessMicros();  // before the read (FillInfo)
  uint64_t as_of = 0;
  absl::StatusOr<LocalRead> read;
  if (hot_cache_) {
    read = ReadHot(*hot_cache_, *store_, request.key(), clock_->UnixSeconds(),
                   response->mutable_entry(), &as_of);
  } else {
    as_of = applied_version();  // before the read: the answer reflects at least this
    read =
        server::ReadLocal(*store_, request.key(), clock_->UnixSeconds(), response->mutable_entry());
  }
  if (!read.ok()) return std::move(done)(read.status());
  if (*read == LocalRead::kValueMissing) {
    response->Clear();
    if (stale_fallback) {
      return std::move(done)(
          absl::UnavailableError(absl::StrCat("edge ", options_.node_id,
                                              " has not fetched this key's value yet and its "
                                              "upstream ",
                                              options_.upstream.address, " is unreachable")));
    }
    // A large value announced by invalidation and not fetched yet: read it through.
    return ReadUpstream(request, response, call, std::move(done), Route::kLocal);
  }
  response->set_found(*read == LocalRead::kFound);
  if (!response->found()) response->clear_entry();
  FillInfo(as_of, staleness, kvstore::v1::SOURCE_EDGE_STORE, response->mutable_info());
  response->mutable_info()->set_stale(stale_fallback);
  std::move(done)(absl::OkStatus());
}

void FullEdge::ReadLocal(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
                         const CallContext& call, Done done, bool stale_fallback) {
  ReadStore(request, response, call, std::move(done), stale_fallback);
}

void FullEdge::ReadLocal(const kvstore::v1::FetchRequest& request,
                         kvstore::v1::FetchResponse* response, const CallContext& call, Done done,
                         bool stale_fallback) {
  ReadStore(request, response, call, std::move(done), stale_fallback);
}

void FullEdge::BatchGetLocal(const kvstore::v1::BatchGetRequest& request,
                             kvstore::v1::BatchGetResponse* response, const CallContext& call,
                             Done done, bool stale_fallback) {
  // One state for every key: a commit is seen whole or not at all. From the hot cache when
  // every key hits at one version (server/edge/hot_reads.h), else one RocksDB MultiGet.
  const int64_t now = clock_->UnixSeconds();
  const int64_t staleness = freshness()->StalenessMicros();  // before the reads (FillInfo)
  uint64_t as_of = 0;
  absl::StatusOr<bool> value_missing = false;
  std::optional<uint64_t> hit_as_of;
  if (hot_cache_) hit_as_of = BatchGetHot(*hot_cache_, *store_, request.keys(), now, response);
  if (hit_as_of) {
    as_of = *hit_as_of;
  } else if (hot_cache_) {
    value_missing = BatchReadAndOffer(*hot_cache_, *store_, request.keys(), now, response, &as_of);
  } else {
    const ReadPoint point = store_->NewReadPoint();
    as_of = point.head;
    value_missing = server::BatchReadLocal(*store_, request.keys(), now, point, response);
  }
  if (!value_missing.ok()) return std::move(done)(value_missing.status());
  if (*value_missing) {
    response->Clear();
    if (stale_fallback) {
      return std::move(done)(absl::UnavailableError(
          "a requested value is not fetched yet and the upstream is unreachable"));
    }
    return BatchGetUpstream(request, response, call, std::move(done), Route::kLocal);
  }
  for (auto& result : *response->mutable_results()) {
    result.set_source(kvstore::v1::SOURCE_EDGE_STORE);
  }
  FillInfo(as_of, staleness, kvstore::v1::SOURCE_EDGE_STORE, response->mutable_info());
  response->mutable_info()->set_stale(stale_fallback);
  std::move(done)(absl::OkStatus());
}

bool FullEdge::ReadLocalShared(absl::string_view key, int64_t staleness, SharedRead* out) {
  uint64_t as_of = store_->head_version();  // before the lookup, as ReadHot
  std::shared_ptr<const cache::CachedValue> hit = hot_cache_->LookupIfCached(key);
  if (hit == nullptr) return false;       // ReadStore reads the store
  as_of = std::max(as_of, hit->version);  // as ReadHot: an entry ahead of the head
  FillShared(std::move(hit), clock_->UnixSeconds(), &out->value);
  out->info = SharedInfo(as_of, staleness, kvstore::v1::SOURCE_EDGE_STORE);
  return true;
}

bool FullEdge::BatchGetLocalShared(absl::Span<const absl::string_view> keys, int64_t staleness,
                                   SharedBatchRead* out) {
  // Reused by this thread's batches; emptied before returning, so no value outlives its read.
  thread_local std::vector<std::shared_ptr<const cache::CachedValue>> hits;
  const uint64_t as_of = store_->head_version();  // before the lookups, as BatchGetHot
  if (!hot_cache_->LookupAllAsOf(keys, as_of, &hits)) return false;
  FillSharedBatch(&hits, clock_->UnixSeconds(), out);
  out->info = SharedInfo(as_of, staleness, kvstore::v1::SOURCE_EDGE_STORE);
  return true;
}

std::optional<absl::Status> FullEdge::ListLocal(const kvstore::v1::ListRequest& request,
                                                kvstore::v1::ListResponse* response,
                                                bool stale_fallback) {
  const int64_t staleness = freshness()->StalenessMicros();  // before the read (FillInfo)
  uint64_t as_of = applied_version();
  auto missing =
      server::ListLocal(*store_, options_.limits, request, clock_->UnixSeconds(), response);
  if (!missing.ok()) return missing.status();
  // Values still being fetched: let the upstream list this page (unless it is unreachable).
  if (*missing > 0 && !stale_fallback) return std::nullopt;
  FillInfo(as_of, staleness, kvstore::v1::SOURCE_EDGE_STORE, response->mutable_info());
  response->mutable_info()->set_stale(stale_fallback);
  return absl::OkStatus();
}

std::string FullEdge::LocalDataSuspect() const {
  if (!applier_->diverged()) return "";
  return absl::StrCat("checksum mismatch, resynchronising from ", options_.upstream.address, ": ",
                      applier_->last_mismatch());
}

void FullEdge::FillModeStatus(kvstore::v1::StatusResponse* status) {
  FillChecksumStatus(*store_, status);
  status->set_checksum_mismatches(applier_->mismatches());
  status->set_checksum_mismatch(applier_->last_mismatch());
  status->set_oldest_log_version(store_->log().entries() > 0 ? store_->log().oldest() : 0);
  status->set_log_entries(store_->log().entries());
  status->set_key_count(store_->ApproximateKeyCount());
  status->set_history_id(store_->history_id());
  status->set_approximate_data_bytes(store_->ApproximateDataBytes());
  status->set_log_retention_entries(options_.full.retention.max_entries);
  status->set_log_retention_seconds(absl::ToInt64Seconds(options_.full.retention.max_age));
  status->mutable_replication()->set_pending_value_fetches(fetcher_->pending());
  if (hot_cache_) FillCacheCounters(hot_cache_->GetStats().cache, status->mutable_cache());
  std::vector<kvstore::v1::DownstreamStatus> downstreams;
  publisher_->GetDownstreams(&downstreams);
  for (auto& d : downstreams) *status->add_downstreams() = std::move(d);
}

}  // namespace kv::server

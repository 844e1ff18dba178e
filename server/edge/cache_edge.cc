#include "server/edge/cache_edge.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/reserved_keys.h"
#include "common/units.h"
#include "replication/cluster_change.h"
#include "server/edge/cached_value_proto.h"
#include "server/edge/relabel.h"
#include "server/storage/data_dir_role.h"

namespace kv::server {
using cache::CachedValue;

absl::StatusOr<std::unique_ptr<CacheEdge>> CacheEdge::Open(const EdgeOptions& options,
                                                           Clock* clock) {
  if (auto s = CheckOptions(options, EdgeMode::kCache); !s.ok()) return s;
  std::unique_ptr<CacheEdge> node(new CacheEdge(options, clock));
  // Before RocksDB touches it: a full node's directory is refused unchanged.
  if (auto s = ClaimDataDir(options.data_dir, DataDirRole::kEdgeCache); !s.ok()) return s;
  CacheStoreOptions cache_options;
  cache_options.data_dir = options.data_dir;
  cache_options.cache_bytes = options.cache.cache_bytes;
  cache_options.on_cluster_data = options.on_cluster_data;
  auto cache = CacheStore::Open(cache_options);
  if (!cache.ok()) return cache.status();
  node->cache_ = std::move(*cache);
  // Watchers see every change of the stream, also of keys this node does not cache.
  node->OpenWatchHub(nullptr, node->cache_->applied_version());
  node->watched_ = std::make_unique<WatchedApplier>(node->cache_.get(), node->watch_hub());
  if (options.on_cluster_data) {
    for (const auto& change : node->cache_->ClusterData()) {
      options.on_cluster_data(change, /*restart=*/true);
    }
  }
  KV_LOG(INFO) << "edge " << options.node_id << " (cache, "
               << FormatByteSize(options.cache.cache_bytes) << ") opened " << options.data_dir
               << " at version " << node->applied_version() << "; upstream "
               << options.upstream.address;
  return node;
}

CacheEdge::~CacheEdge() { Stop(); }

std::unique_ptr<replication::Subscriber> CacheEdge::NewSubscriber(
    replication::SubscriberOptions options) {
  return std::make_unique<replication::Subscriber>(
      upstream()->replication(), options_.upstream.address, watched_.get(),
      static_cast<replication::HeadFollower*>(this), freshness(), clock_, std::move(options));
}

absl::Status CacheEdge::StartFrom(uint64_t version, const std::string& cluster_id) {
  // The Subscriber refuses a RESET into another cluster; this also covers a start at the head
  // whose upstream changed cluster after such a RESET was accepted.
  if (auto s =
          replication::CheckClusterChange(cache_->cluster_id(), cluster_id,
                                          options_.upstream.address, options_.allow_cluster_change);
      !s.ok()) {
    return s;
  }
  if (auto s = cache_->StartFrom(version, cluster_id); !s.ok()) return s;
  watch_hub()->Rebase(version,
                      absl::StrCat("this node started over at its upstream's version ", version));
  if (cluster_fetch_) cluster_fetch_->Poke();
  return absl::OkStatus();
}

void CacheEdge::StartMode() {
  // Only a node that checks tokens needs the key set. The first start at the head pokes it; a
  // restart that resumes its stream without one fetches it on the next tick.
  if (!options_.fetch_cluster_data) return;
  cluster_fetch_ = std::make_unique<PeriodicTask>("cluster-data", absl::Seconds(1),
                                                  [this] { FetchClusterDataIfNeeded(); });
}

void CacheEdge::StopMode() {
  if (cluster_fetch_) cluster_fetch_->Stop();
  // The fetch in flight calls back into this node: wait for it (bounded by its deadline).
  absl::MutexLock l(&fetch_mu_);
  auto idle = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(fetch_mu_) { return !cluster_fetch_in_flight_; };
  fetch_mu_.Await(absl::Condition(&idle));
}

void CacheEdge::FetchClusterDataIfNeeded() {
  if (!cache_->NeedsClusterData()) return;
  {
    absl::MutexLock l(&fetch_mu_);
    if (cluster_fetch_in_flight_) return;
    cluster_fetch_in_flight_ = true;
  }
  const uint64_t epoch = cache_->epoch();
  auto request = std::make_shared<kvstore::v1::FetchRequest>();
  auto response = std::make_shared<kvstore::v1::FetchResponse>();
  request->set_key(std::string(kKeySetKey));
  request->set_node_id(options_.node_id);
  request->mutable_options()->set_min_version(applied_version());
  const absl::Time deadline =
      absl::FromUnixMicros(clock_->UnixMicros()) + options_.upstream.timeout;
  upstream()->Fetch(
      request.get(), response.get(), deadline, /*hops=*/0,
      [this, request, response, epoch](absl::Status s) {
        if (!s.ok()) {
          KV_LOG(DEBUG) << "fetching the key set from " << options_.upstream.address << ": " << s;
        } else {
          kvstore::v1::Change change;
          change.set_key(request->key());
          if (response->found()) {
            change.set_kind(kvstore::v1::Change::KIND_PUT);
            change.set_value(response->entry().value());
            change.set_version(response->entry().version());
          } else {
            change.set_kind(kvstore::v1::Change::KIND_DELETE);
            change.set_version(response->info().as_of_version());
          }
          bool restart = false;
          if (cache_->PinClusterData(change, epoch, &restart) && options_.on_cluster_data) {
            options_.on_cluster_data(change, restart);
          }
        }
        absl::MutexLock l(&fetch_mu_);
        cluster_fetch_in_flight_ = false;
      });
}

template <typename Request, typename Response>
void CacheEdge::ReadCached(const Request& request, Response* response, const CallContext& call,
                           Done done, bool stale_fallback) {
  // Both before the lookup: the entry is at least this fresh (FillInfo).
  const int64_t staleness = freshness()->StalenessMicros();
  const uint64_t as_of = applied_version();
  if (auto cached = cache_->Lookup(request.key())) {
    FillCached(request.key(), *cached, clock_->UnixSeconds(), response);
    FillInfo(as_of, staleness, kvstore::v1::SOURCE_EDGE_CACHE, response->mutable_info());
    response->mutable_info()->set_stale(stale_fallback);
    return std::move(done)(absl::OkStatus());
  }
  if (stale_fallback) {
    return std::move(done)(absl::UnavailableError(
        absl::StrCat("edge ", options_.node_id, " does not hold this key and its upstream ",
                     options_.upstream.address, " is unreachable")));
  }
  // A cold miss: join (or start) the one upstream fetch for this key.
  const int64_t joined = clock_->MonotonicMicros();
  bool leader = cache_->JoinFetch(
      request.key(), joined,
      [this, &request, response, call, joined, as_of, staleness,
       done = std::move(done)](const FetchOutcome& o) mutable {
        if (!o.status.ok()) {
          return std::move(done)(UpstreamFailed(Route::kLocal, request.options(), o.status));
        }
        if (o.must_forward) {
          return ReadUpstream(request, response, call, std::move(done), Route::kLocal);
        }
        FillCached(request.key(), *o.value, clock_->UnixSeconds(), response);
        if (o.info.node_id().empty()) {
          // The stream overtook the fetch: its change is at least as new as the state above.
          FillInfo(as_of, staleness, kvstore::v1::SOURCE_EDGE_CACHE, response->mutable_info());
        } else {
          *response->mutable_info() = o.info;
          response->mutable_info()->set_source(Relabel(o.info.source()));
          // The upstream's staleness (a standby's may exceed the bound), or this node's from
          // before the fetch if less: the answer holds this key's every change up to then
          // (min_version, and changes during the fetch win over it).
          response->mutable_info()->set_staleness_micros(std::min(
              staleness,
              FetchedStaleness(o.info.staleness_micros(), joined - o.fetch_started_micros)));
        }
        std::move(done)(absl::OkStatus());
      });
  if (leader) StartFetch(request.key());
}

void CacheEdge::ReadLocal(const kvstore::v1::GetRequest& request,
                          kvstore::v1::GetResponse* response, const CallContext& call, Done done,
                          bool stale_fallback) {
  ReadCached(request, response, call, std::move(done), stale_fallback);
}

void CacheEdge::ReadLocal(const kvstore::v1::FetchRequest& request,
                          kvstore::v1::FetchResponse* response, const CallContext& call, Done done,
                          bool stale_fallback) {
  ReadCached(request, response, call, std::move(done), stale_fallback);
}

void CacheEdge::StartFetch(const std::string& key) {
  auto request = std::make_shared<kvstore::v1::FetchRequest>();
  auto response = std::make_shared<kvstore::v1::FetchResponse>();
  request->set_key(key);
  request->set_node_id(options_.node_id);
  // At least as fresh as this node's own state, so a fetched value never takes a reader back.
  request->mutable_options()->set_min_version(applied_version());
  upstream()->Fetch(request.get(), response.get(), absl::InfiniteFuture(), /*hops=*/0,
                    [this, request, response](absl::Status s) {
                      cache_->FinishFetch(request->key(), s, *response);
                    });
}

bool CacheEdge::ReadLocalShared(absl::string_view key, int64_t staleness, SharedRead* out) {
  const uint64_t as_of = applied_version();
  std::shared_ptr<const CachedValue> cached = cache_->LookupIfCached(key);
  if (cached == nullptr) return false;  // ReadCached joins the fetch
  FillShared(std::move(cached), clock_->UnixSeconds(), &out->value);
  out->info = SharedInfo(as_of, staleness, kvstore::v1::SOURCE_EDGE_CACHE);
  return true;
}

bool CacheEdge::BatchGetLocalShared(absl::Span<const absl::string_view> keys, int64_t staleness,
                                    SharedBatchRead* out) {
  // Reused by this thread's batches; emptied before returning, so no value outlives its read.
  thread_local std::vector<std::shared_ptr<const CachedValue>> hits;
  uint64_t as_of = 0;
  // As BatchGetLocal: a hit newer than the hits' state may belong to a commit whose other keys
  // are cached older, and BatchGetLocal sends such a batch upstream.
  if (!cache_->LookupAllCached(keys, &hits, &as_of)) return false;
  FillSharedBatch(&hits, clock_->UnixSeconds(), out);
  out->info = SharedInfo(as_of, staleness, kvstore::v1::SOURCE_EDGE_CACHE);
  return true;
}

void CacheEdge::BatchGetLocal(const kvstore::v1::BatchGetRequest& request,
                              kvstore::v1::BatchGetResponse* response, const CallContext& call,
                              Done done, bool stale_fallback) {
  // Every hit at one state of the stream, as of `as_of`.
  std::vector<std::shared_ptr<const CachedValue>> hits;
  // Before the hits (FillInfo), and not when the batch ends.
  const int64_t staleness = freshness()->StalenessMicros();
  const uint64_t as_of = cache_->LookupAll(request.keys(), &hits);
  const int64_t now = clock_->UnixSeconds();
  // The newest version among the hits (cached "not found" entries have one too), and whether
  // every key hit.
  uint64_t max_version = 0;
  bool all_hit = true;
  for (int i = 0; i < request.keys_size(); ++i) {
    auto* result = response->add_results();
    if (const auto& cached = hits[i]) {
      FillCached(request.keys(i), *cached, now, result);
      result->set_source(kvstore::v1::SOURCE_EDGE_CACHE);
      max_version = std::max(max_version, cached->version);
    } else {
      all_hit = false;
    }
  }
  // A result newer than the hits' state (a fetched value, or one a fetch installed) may belong
  // to a commit whose other keys are cached older: the upstream answers the whole batch at one
  // state instead (docs/design-notes.md, "Commits at a cache edge").
  if (all_hit) {
    if (max_version > as_of) {
      response->Clear();
      return BatchGetUpstream(request, response, call, std::move(done), Route::kLocal);
    }
    FillInfo(as_of, staleness, kvstore::v1::SOURCE_EDGE_CACHE, response->mutable_info());
    response->mutable_info()->set_stale(stale_fallback);
    return std::move(done)(absl::OkStatus());
  }
  if (stale_fallback) {
    return std::move(done)(absl::UnavailableError(
        absl::StrCat("edge ", options_.node_id, " does not hold every key and its upstream ",
                     options_.upstream.address, " is unreachable")));
  }
  // Misses join their keys' fetches and the last one to finish answers the batch.
  struct Batch {
    absl::Mutex mu;
    int remaining ABSL_GUARDED_BY(mu) = 1;  // one extra count for the loop below
    absl::Status error ABSL_GUARDED_BY(mu);
    bool forward ABSL_GUARDED_BY(mu) = false;
    // The answer's staleness: this node's when the hits were read, or older fetched answers'.
    int64_t staleness ABSL_GUARDED_BY(mu) = 0;
    uint64_t max_version ABSL_GUARDED_BY(mu) = 0;  // among all results
    Done done;                                     // called once, by the last to finish
  };
  auto batch = std::make_shared<Batch>();
  batch->done = std::move(done);
  {
    absl::MutexLock l(&batch->mu);
    batch->staleness = staleness;
    batch->max_version = max_version;
  }
  const int64_t joined = clock_->MonotonicMicros();
  auto finish_one = [this, batch, &request, response, call, as_of]() {
    absl::Status error;
    bool forward = false;
    int64_t staleness = 0;
    {
      absl::MutexLock l(&batch->mu);
      if (--batch->remaining > 0) return;
      error = batch->error;
      forward = batch->forward || batch->max_version > as_of;  // as for all hits, above
      staleness = batch->staleness;
    }
    if (!error.ok()) return std::move(batch->done)(error);
    if (forward) {
      response->Clear();
      return BatchGetUpstream(request, response, call, std::move(batch->done), Route::kLocal);
    }
    FillInfo(as_of, staleness, kvstore::v1::SOURCE_EDGE_CACHE, response->mutable_info());
    std::move(batch->done)(absl::OkStatus());
  };
  for (int i = 0; i < request.keys_size(); ++i) {
    if (hits[i]) continue;
    const std::string& key = request.keys(i);
    auto* result = response->mutable_results(i);
    {
      absl::MutexLock l(&batch->mu);
      ++batch->remaining;
    }
    bool leader = cache_->JoinFetch(
        key, joined,
        [this, batch, key, result, &request, joined, staleness, finish_one](const FetchOutcome& o) {
          {
            absl::MutexLock l(&batch->mu);
            if (!o.status.ok()) {
              if (batch->error.ok()) {
                batch->error = UpstreamFailed(Route::kLocal, request.options(), o.status);
              }
            } else if (o.must_forward) {
              batch->forward = true;
            } else {
              FillCached(key, *o.value, clock_->UnixSeconds(), result);
              batch->max_version = std::max(batch->max_version, o.value->version);
              result->set_source(o.info.node_id().empty() ? kvstore::v1::SOURCE_EDGE_CACHE
                                                          : Relabel(o.info.source()));
              // Overtaken by the stream: at least as new as the hits' state (`staleness`).
              // As ReadCached: never more than this node's own staleness from before the fetch.
              batch->staleness = std::max(
                  batch->staleness,
                  o.info.node_id().empty()
                      ? staleness
                      : std::min(staleness, FetchedStaleness(o.info.staleness_micros(),
                                                             joined - o.fetch_started_micros)));
            }
          }
          finish_one();
        });
    if (leader) StartFetch(key);
  }
  finish_one();
}

std::optional<absl::Status> CacheEdge::ListLocal(const kvstore::v1::ListRequest& request,
                                                 kvstore::v1::ListResponse* response,
                                                 bool stale_fallback) {
  if (!stale_fallback) return std::nullopt;  // a cache edge lists upstream
  return absl::UnavailableError(absl::StrCat(
      "edge ", options_.node_id, " is a cache edge (List goes upstream) and its upstream ",
      options_.upstream.address, " is unreachable"));
}

void CacheEdge::FillModeStatus(kvstore::v1::StatusResponse* status) {
  cache_->FillStatus(status->mutable_cache());
  status->set_key_count(status->cache().entries());
  status->set_checksum_mismatches(cache_->mismatches());
  status->set_history_id(cache_->history_id());
}

}  // namespace kv::server

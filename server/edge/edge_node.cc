#include "server/edge/edge_node.h"

#include "absl/strings/str_cat.h"
#include "common/build_info.h"
#include "common/log.h"
#include "common/units.h"
#include "server/edge/cache_store.h"
#include "server/edge/full_edge_applier.h"

namespace kv::server {

absl::StatusOr<std::unique_ptr<EdgeNode>> EdgeNode::Open(const EdgeOptions& options, Clock* clock) {
  if (options.mode != "full" && options.mode != "cache") {
    return absl::InvalidArgumentError(
        absl::StrCat("--mode must be full or cache, not '", options.mode, "'"));
  }
  if (options.upstream.address.empty()) {
    return absl::InvalidArgumentError(
        "--upstream is required (HOST:PORT of the central node or a "
        "full edge)");
  }
  std::unique_ptr<EdgeNode> node(new EdgeNode(options, clock));
  node->upstream_ = std::make_unique<UpstreamClient>(options.upstream);
  if (options.mode == "cache") {
    CacheStoreOptions cache_options;
    cache_options.data_dir = options.data_dir;
    cache_options.cache_bytes = options.cache_bytes;
    auto cache = CacheStore::Open(cache_options);
    if (!cache.ok()) return cache.status();
    node->cache_ = std::move(*cache);
    node->applier_ = node->cache_.get();
    node->waiters_.Advance(node->applier_->applied_version());
    KV_LOG(INFO) << "edge " << options.node_id << " (cache, " << FormatByteSize(options.cache_bytes)
                 << ") opened " << options.data_dir << " at version " << node->applied_version()
                 << "; upstream " << options.upstream.address;
    return node;
  }

  StoreOptions store_options;
  store_options.path = options.data_dir;
  store_options.sync = false;  // what a crash takes is re-streamed from the upstream
  store_options.index_expirations = false;
  store_options.block_cache_bytes = options.block_cache_bytes;
  auto store = VersionedStore::Open(store_options);
  if (!store.ok()) return store.status();
  node->store_ = std::move(*store);

  replication::PublisherOptions pub;
  pub.node_id = options.node_id;
  pub.push_value_limit = options.push_value_limit;
  pub.tail_changes = options.publisher_tail_changes;
  pub.tail_bytes = options.publisher_tail_bytes;
  EdgeNode* self = node.get();
  node->publisher_ = std::make_unique<replication::Publisher>(
      &node->store_->log(), clock, pub, node->store_->cluster_id(), node->store_->head_version(),
      [self] { return self->freshness_.StalenessMicros(); });
  node->fetcher_ =
      std::make_unique<ValueFetcher>(node->store_.get(), node->upstream_.get(), options.node_id);
  node->full_store_ = std::make_unique<FullEdgeApplier>(node->store_.get(), node->publisher_.get(),
                                                      node->fetcher_.get());
  node->retention_ =
      std::make_unique<replication::LogRetention>(&node->store_->log(), options.retention);
  node->applier_ = node->full_store_.get();
  node->waiters_.Advance(node->applier_->applied_version());

  KV_LOG(INFO) << "edge " << options.node_id << " (" << options.mode << ") opened "
               << options.data_dir << " at version " << node->applied_version()
               << (node->applier_->NeedsBootstrap() ? " (needs a snapshot)" : "") << "; upstream "
               << options.upstream.address;
  return node;
}

EdgeNode::EdgeNode(const EdgeOptions& options, Clock* clock)
    : options_(options),
      clock_(clock),
      started_micros_(clock->MonotonicMicros()),
      freshness_(clock) {}

EdgeNode::~EdgeNode() { Stop(); }

void EdgeNode::Start(const std::string& advertised_address) {
  replication::SubscriberOptions sub;
  sub.node_id = options_.node_id;
  sub.advertised_address = advertised_address;
  sub.mode = options_.mode;
  sub.ping_interval = options_.ping_interval;
  sub.initial_backoff = options_.initial_backoff;
  sub.max_backoff = options_.max_backoff;
  sub.on_applied = [this](uint64_t applied) { waiters_.Advance(applied); };
  subscriber_ = std::make_unique<replication::Subscriber>(
      upstream_->replication(), options_.upstream.address, applier_, &freshness_, clock_, sub);
  KV_LOG(INFO) << "waiting for upstream " << options_.upstream.address;
  if (fetcher_) fetcher_->Start();
  subscriber_->Start();
}

void EdgeNode::Stop() {
  if (stopped_.exchange(true)) return;
  if (subscriber_) subscriber_->Stop();
  if (fetcher_) fetcher_->Stop();
  if (retention_) retention_->Stop();
  waiters_.Stop();
  if (publisher_) {
    publisher_->FinishAll();
    publisher_->Stop();
  }
}

uint64_t EdgeNode::applied_version() const { return applier_->applied_version(); }

absl::Status EdgeNode::CanServeDownstreams() const {
  if (!full()) {
    return absl::FailedPreconditionError(
        absl::StrCat("edge ", options_.node_id,
                     " is a cache edge and cannot be an upstream; point downstreams at a full "
                     "edge or the central node"));
  }
  if (applier_->NeedsBootstrap()) {
    return absl::UnavailableError(absl::StrCat("edge ", options_.node_id,
                                               " has not finished its own bootstrap from ",
                                               options_.upstream.address));
  }
  return absl::OkStatus();
}

int64_t EdgeNode::BoundMicros(const kvstore::v1::ReadOptions& options) const {
  return options.max_staleness_micros() > 0 ? options.max_staleness_micros()
                                            : absl::ToInt64Microseconds(options_.max_staleness);
}

void EdgeNode::Decide(const kvstore::v1::ReadOptions& options, const CallContext& call,
                      absl::AnyInvocable<void(Route) &&> next) {
  if (options.consistency() == kvstore::v1::CONSISTENCY_STRONG) {
    return std::move(next)(Route::kStrong);
  }
  if (freshness_.StalenessMicros() > BoundMicros(options)) return std::move(next)(Route::kStale);
  if (options.min_version() > applied_version()) {
    absl::Time deadline = std::min(call.deadline, absl::Now() + options_.min_version_wait);
    waiters_.Wait(options.min_version(), deadline, [next = std::move(next)](bool reached) mutable {
      std::move(next)(reached ? Route::kLocal : Route::kBehind);
    });
    return;
  }
  std::move(next)(Route::kLocal);
}

void EdgeNode::FillInfo(uint64_t as_of, kvstore::v1::Source source,
                        kvstore::v1::ReadInfo* info) const {
  info->set_staleness_micros(freshness_.StalenessMicros());
  info->set_source(source);
  info->set_as_of_version(as_of);
  info->set_node_id(options_.node_id);
}

bool EdgeNode::StaleFallbackAllowed(const kvstore::v1::ReadOptions& options) const {
  return options.allow_stale() && applied_version() >= options.min_version();
}

bool EdgeNode::Unreachable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded ||
         status.code() == absl::StatusCode::kCancelled;
}

absl::Status EdgeNode::UpstreamFailed(Route route, const kvstore::v1::ReadOptions& options,
                                      const absl::Status& status) const {
  if (!Unreachable(status)) return status;  // the upstream's own answer, passed through
  int64_t staleness = freshness_.StalenessMicros();
  std::string how_stale = staleness == replication::FreshnessTracker::kNeverFresh
                              ? "has never synced"
                              : absl::StrCat("is ", FormatMicros(staleness), " stale");
  switch (route) {
    case Route::kStale:
      return absl::UnavailableError(absl::StrCat(
          "edge ", options_.node_id, " ", how_stale, " (bound ", FormatMicros(BoundMicros(options)),
          ") and its upstream ", options_.upstream.address, " is unreachable (", status.message(),
          "); set allow_stale to accept a stale answer"));
    case Route::kBehind:
      return absl::UnavailableError(
          absl::StrCat("edge ", options_.node_id, " has applied version ", applied_version(),
                       ", below min_version ", options.min_version(), ", and its upstream ",
                       options_.upstream.address, " is unreachable (", status.message(), ")"));
    case Route::kStrong:
      return absl::UnavailableError(absl::StrCat(
          "strong read: upstream ", options_.upstream.address, " is unreachable from edge ",
          options_.node_id, " (", status.message(), ")"));
    case Route::kLocal:
      break;
  }
  return absl::UnavailableError(
      absl::StrCat("edge ", options_.node_id, " cannot read through: upstream ",
                   options_.upstream.address, " is unreachable (", status.message(), ")"));
}

Done EdgeNode::ForwardedWriteDone(Done done) const {
  return [this, done = std::move(done)](absl::Status s) mutable {
    if (Unreachable(s)) {
      s = absl::UnavailableError(absl::StrCat("edge ", options_.node_id, " forwards writes to ",
                                              options_.upstream.address,
                                              ", which is unreachable: ", s.message()));
    }
    std::move(done)(s);
  };
}

void EdgeNode::Put(const kvstore::v1::PutRequest& request, kvstore::v1::PutResponse* response,
                   const CallContext& call, Done done) {
  // Validated here so bad requests never leave the edge; the central node judges expiration.
  if (auto s = ValidatePut(options_.limits, request, 0); !s.ok()) return std::move(done)(s);
  upstream_->Put(&request, response, call.deadline, ForwardedWriteDone(std::move(done)));
}

void EdgeNode::Delete(const kvstore::v1::DeleteRequest& request,
                      kvstore::v1::DeleteResponse* response, const CallContext& call, Done done) {
  if (auto s = ValidateDelete(options_.limits, request); !s.ok()) return std::move(done)(s);
  upstream_->Delete(&request, response, call.deadline, ForwardedWriteDone(std::move(done)));
}

void EdgeNode::GetStatus(kvstore::v1::StatusResponse* status) {
  status->set_role("edge");
  status->set_mode(options_.mode);
  status->set_node_id(options_.node_id);
  status->set_cluster_id(applier_->cluster_id());
  status->set_build_version(kBuildVersion);
  status->set_uptime_seconds((clock_->MonotonicMicros() - started_micros_) / 1000000);
  status->set_head_version(applied_version());
  status->set_fetches_served(fetches_.load());
  std::string why;
  status->set_ready(Ready(&why));
  auto* repl = status->mutable_replication();
  if (subscriber_) subscriber_->FillStatus(repl);
  repl->set_staleness_micros(freshness_.StalenessMicros());
  repl->set_max_staleness_micros(absl::ToInt64Microseconds(options_.max_staleness));
  if (store_) {
    status->set_oldest_log_version(store_->log().entries() > 0 ? store_->log().oldest() : 0);
    status->set_log_entries(store_->log().entries());
    status->set_key_count(store_->ApproximateKeyCount());
    status->set_approximate_data_bytes(store_->ApproximateDataBytes());
    status->set_log_retention_entries(options_.retention.max_entries);
    status->set_log_retention_seconds(absl::ToInt64Seconds(options_.retention.max_age));
    repl->set_pending_value_fetches(fetcher_->pending());
  }
  if (cache_) {
    cache_->FillStatus(status->mutable_cache());
    status->set_key_count(status->cache().entries());
  }
  if (publisher_) {
    std::vector<kvstore::v1::DownstreamStatus> downstreams;
    publisher_->GetDownstreams(&downstreams);
    for (auto& d : downstreams) *status->add_downstreams() = std::move(d);
  }
}

bool EdgeNode::Ready(std::string* why_not) {
  if (applier_->NeedsBootstrap()) {
    *why_not = absl::StrCat("waiting for the first snapshot from ", options_.upstream.address);
    return false;
  }
  int64_t staleness = freshness_.StalenessMicros();
  int64_t bound = absl::ToInt64Microseconds(options_.max_staleness);
  if (staleness > bound) {
    *why_not =
        staleness == replication::FreshnessTracker::kNeverFresh
            ? absl::StrCat("not yet in sync with upstream ", options_.upstream.address)
            : absl::StrCat("staleness ", FormatMicros(staleness), " exceeds the bound ",
                           FormatMicros(bound), " (upstream ", options_.upstream.address, ")");
    return false;
  }
  return true;
}

}  // namespace kv::server

#include "server/edge/edge_node.h"

#include "absl/strings/str_cat.h"
#include "common/build_info.h"
#include "common/log.h"
#include "common/units.h"

namespace kv::server {

absl::StatusOr<EdgeMode> ParseEdgeMode(absl::string_view text) {
  if (text == "full") return EdgeMode::kFull;
  if (text == "cache") return EdgeMode::kCache;
  return absl::InvalidArgumentError(absl::StrCat("--mode must be full or cache, not '", text, "'"));
}

const char* EdgeModeName(EdgeMode mode) {
  switch (mode) {
    case EdgeMode::kFull:
      return "full";
    case EdgeMode::kCache:
      return "cache";
  }
  return "?";
}

EdgeNode::EdgeNode(const EdgeOptions& options, Clock* clock)
    : options_(options),
      clock_(clock),
      started_micros_(clock->MonotonicMicros()),
      freshness_(clock),
      upstream_(options.upstream),
      waiters_(clock) {}

EdgeNode::~EdgeNode() { Stop(); }

absl::Status EdgeNode::CheckOptions(const EdgeOptions& options, EdgeMode mode) {
  if (options.mode != mode) {
    return absl::InvalidArgumentError(absl::StrCat("options for a ", EdgeModeName(options.mode),
                                                   " edge given to a ", EdgeModeName(mode),
                                                   " edge"));
  }
  if (options.upstream.address.empty()) {
    return absl::InvalidArgumentError(
        "--upstream is required (HOST:PORT of the central node or a full edge)");
  }
  return absl::OkStatus();
}

void EdgeNode::Start(const std::string& advertised_address) {
  waiters_.Advance(applied_version());
  replication::SubscriberOptions sub;
  sub.node_id = options_.node_id;
  sub.advertised_address = advertised_address;
  sub.ping_interval = options_.ping_interval;
  sub.initial_backoff = options_.initial_backoff;
  sub.max_backoff = options_.max_backoff;
  sub.allow_cluster_change = options_.allow_cluster_change;
  sub.on_applied = [this](uint64_t applied) { waiters_.Advance(applied); };
  sub.authorization = [this] { return upstream_.OwnAuthorization(); };
  sub.on_chain = [this](const std::vector<std::string>& chain) {
    {
      absl::MutexLock l(&chain_mu_);
      if (upstream_chain_ == chain) return;
      upstream_chain_ = chain;
    }
    OnUpstreamChain(chain);
  };
  replication::Subscriber* subscriber = nullptr;
  {
    absl::MutexLock l(&subscriber_mu_);
    subscriber_ = NewSubscriber(std::move(sub));
    subscriber = subscriber_.get();
  }
  KV_LOG(INFO) << "waiting for upstream " << options_.upstream.address;
  StartMode();
  subscriber->Start();
}

std::vector<std::string> EdgeNode::Chain() const {
  absl::MutexLock l(&chain_mu_);
  std::vector<std::string> chain = {options_.node_id};
  chain.insert(chain.end(), upstream_chain_.begin(), upstream_chain_.end());
  return chain;
}

void EdgeNode::Stop() {
  if (stopped_.exchange(true)) return;
  {
    absl::MutexLock l(&subscriber_mu_);
    if (subscriber_) subscriber_->Stop();
  }
  StopMode();
  waiters_.Stop();
  if (watch_hub_) {
    watch_hub_->FinishAll();
    watch_hub_->Stop();
  }
}

void EdgeNode::OpenWatchHub(const replication::ChangeLog* log, uint64_t applied_version) {
  WatchHubOptions watch = options_.watch;
  watch.node_id = options_.node_id;
  watch.max_value_bytes = options_.full.push_value_limit;
  watch.max_key_bytes = options_.limits.max_key_bytes;
  watch_hub_ = std::make_unique<WatchHub>(clock_, watch, log,
                                          [this] { return freshness_.StalenessMicros(); });
  watch_hub_->Start(applied_version);
}

int64_t EdgeNode::BoundMicros(const kvstore::v1::ReadOptions& options) const {
  return options.max_staleness_micros() > 0 ? options.max_staleness_micros()
                                            : absl::ToInt64Microseconds(options_.max_staleness);
}

EdgeNode::Route EdgeNode::RouteNow(const kvstore::v1::ReadOptions& options,
                                   int64_t staleness_micros) const {
  return RouteRead({
      .strong = options.consistency() == kvstore::v1::CONSISTENCY_STRONG,
      .bound_micros = BoundMicros(options),
      .min_version = options.min_version(),
      .staleness_micros = staleness_micros,
      .applied_version = applied_version(),
      .local_suspect = !LocalDataSuspect().empty(),
  });
}

void EdgeNode::Decide(const kvstore::v1::ReadOptions& options, const CallContext& call,
                      absl::AnyInvocable<void(Route) &&> next) {
  const Route route = RouteNow(options);
  if (route != Route::kBehind) return std::move(next)(route);
  const absl::Time now = absl::FromUnixMicros(clock_->UnixMicros());
  absl::Time deadline = std::min(call.deadline, now + options_.min_version_wait);
  waiters_.Wait(options.min_version(), deadline, [next = std::move(next)](bool reached) mutable {
    std::move(next)(reached ? Route::kLocal : Route::kBehind);
  });
}

void EdgeNode::FillInfo(uint64_t as_of, int64_t staleness, kvstore::v1::Source source,
                        kvstore::v1::ReadInfo* info) const {
  info->set_staleness_micros(staleness);
  info->set_source(source);
  info->set_as_of_version(as_of);
  info->set_node_id(options_.node_id);
}

bool EdgeNode::FallBackToStale(Route route, const kvstore::v1::ReadOptions& options,
                               const absl::Status& upstream) const {
  return server::FallBackToStale(route, upstream, options.allow_stale(),
                                 {.min_version = options.min_version(),
                                  .applied_version = applied_version(),
                                  .local_suspect = !LocalDataSuspect().empty()});
}

absl::Status EdgeNode::UpstreamFailed(Route route, const kvstore::v1::ReadOptions& options,
                                      const absl::Status& status) const {
  if (!UpstreamUnreachable(status)) return status;  // the upstream's own answer, passed through
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
    if (UpstreamUnreachable(s)) {
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
  upstream_.Put(&request, response, call, ForwardedWriteDone(std::move(done)));
}

void EdgeNode::Delete(const kvstore::v1::DeleteRequest& request,
                      kvstore::v1::DeleteResponse* response, const CallContext& call, Done done) {
  if (auto s = ValidateDelete(options_.limits, request); !s.ok()) return std::move(done)(s);
  upstream_.Delete(&request, response, call, ForwardedWriteDone(std::move(done)));
}

void EdgeNode::Commit(const kvstore::v1::CommitRequest& request,
                      kvstore::v1::CommitResponse* response, const CallContext& call, Done done) {
  if (auto s = ValidateCommit(options_.limits, request, 0); !s.ok()) return std::move(done)(s);
  upstream_.Commit(&request, response, call, ForwardedWriteDone(std::move(done)));
}

void EdgeNode::GetStatus(kvstore::v1::StatusResponse* status) {
  status->set_role("edge");
  status->set_mode(EdgeModeName(options_.mode));
  status->set_node_id(options_.node_id);
  status->set_cluster_id(cluster_id());
  status->set_build_version(kBuildVersion);
  status->set_uptime_seconds((clock_->MonotonicMicros() - started_micros_) / 1000000);
  status->set_head_version(applied_version());
  status->set_fetches_served(fetches_.load());
  std::string why;
  status->set_ready(Ready(&why));
  auto* repl = status->mutable_replication();
  {
    absl::MutexLock l(&subscriber_mu_);
    if (subscriber_) subscriber_->FillStatus(repl);
  }
  repl->set_staleness_micros(freshness_.StalenessMicros());
  repl->set_max_staleness_micros(absl::ToInt64Microseconds(options_.max_staleness));
  FillModeStatus(status);
}

bool EdgeNode::Ready(std::string* why_not) {
  // Says why the stream is not flowing (a refusal, a replication cycle, another cluster, no
  // credentials), after what is waited for.
  auto append_stream_error = [this, why_not] {
    absl::MutexLock l(&subscriber_mu_);
    if (subscriber_ != nullptr) {
      if (std::string error = subscriber_->last_error(); !error.empty()) {
        absl::StrAppend(why_not, ": ", error);
      }
    }
  };
  if (std::string suspect = LocalDataSuspect(); !suspect.empty()) {
    *why_not = suspect;
    append_stream_error();
    return false;
  }
  if (NeedsBootstrap()) {
    *why_not = absl::StrCat("waiting for the first snapshot from ", options_.upstream.address);
    append_stream_error();
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
    append_stream_error();
    return false;
  }
  return true;
}

}  // namespace kv::server

#include "server/edge/value_fetcher.h"

#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/log.h"

namespace kv::server {

ValueFetcher::ValueFetcher(VersionedStore* store, UpstreamClient* upstream, std::string node_id)
    : store_(store), upstream_(upstream), node_id_(std::move(node_id)) {}

ValueFetcher::~ValueFetcher() { Stop(); }

void ValueFetcher::Start() {
  std::vector<std::pair<std::string, uint64_t>> missing;
  if (auto s = store_->ScanMissingValues(1'000'000, &missing); !s.ok()) {
    KV_LOG(ERROR) << "cannot scan for missing values: " << s;
  }
  {
    absl::MutexLock l(&mu_);
    for (auto& m : missing) queue_.push_back(std::move(m));
  }
  if (!missing.empty()) KV_LOG(INFO) << missing.size() << " large values still to fetch";
  thread_ = std::thread([this] { Run(); });
}

void ValueFetcher::Stop() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ValueFetcher::Enqueue(const std::string& key, uint64_t version) {
  absl::MutexLock l(&mu_);
  queue_.emplace_back(key, version);
}

size_t ValueFetcher::pending() const {
  absl::MutexLock l(&mu_);
  return queue_.size();
}

uint64_t ValueFetcher::fetched() const {
  absl::MutexLock l(&mu_);
  return fetched_;
}

void ValueFetcher::Run() {
  absl::Duration backoff = absl::Milliseconds(100);
  for (;;) {
    std::pair<std::string, uint64_t> item;
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (stop_) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    if (FetchOne(item.first, item.second)) {
      backoff = absl::Milliseconds(100);
      continue;
    }
    // The upstream is unreachable: put it back and wait before trying again.
    {
      absl::MutexLock l(&mu_);
      queue_.push_back(std::move(item));
      auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      mu_.AwaitWithTimeout(absl::Condition(&stopped), backoff);
      if (stop_) return;
    }
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

bool ValueFetcher::FetchOne(const std::string& key, uint64_t version) {
  kvstore::v1::FetchRequest request;
  request.set_key(key);
  request.set_node_id(node_id_);
  // The upstream sent the invalidation, so it holds at least this version.
  request.mutable_options()->set_min_version(version);
  kvstore::v1::FetchResponse response;
  auto ctx = upstream_->NewContext(absl::InfiniteFuture());
  if (std::string authorization = upstream_->OwnAuthorization(); !authorization.empty()) {
    ctx->AddMetadata("authorization", authorization);
  }
  grpc::Status status = upstream_->replication()->Fetch(ctx.get(), request, &response);
  if (!status.ok()) {
    KV_LOG(DEBUG) << "fetching a large value failed: " << status.error_message();
    return status.error_code() != grpc::StatusCode::UNAVAILABLE &&
           status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED;
  }
  // A different version means a newer change is on its way down the stream; it settles the key.
  if (!response.found() || response.entry().version() != version) return true;
  auto installed = store_->InstallFetchedValue(key, version, response.entry().value());
  if (!installed.ok()) {
    KV_LOG(ERROR) << "installing a fetched value failed: " << installed.status();
    return true;
  }
  if (*installed) {
    absl::MutexLock l(&mu_);
    ++fetched_;
  }
  return true;
}

}  // namespace kv::server

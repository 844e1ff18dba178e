#include "client/local_replica/replica_cache.h"

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/grpc_status.h"

namespace kv::replica {

absl::StatusOr<std::unique_ptr<ReplicaCache>> ReplicaCache::Create(
    uint64_t cache_bytes, kvstore::v1::Replication::Stub* upstream, std::string node_id,
    std::function<void(grpc::ClientContext*)> authorize) {
  server::CacheStoreOptions options;  // no data_dir: in memory only
  options.cache_bytes = cache_bytes;
  auto store = server::CacheStore::Open(options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<ReplicaCache>(
      new ReplicaCache(*std::move(store), upstream, std::move(node_id), std::move(authorize)));
}

absl::Status ReplicaCache::Apply(
    const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes) {
  return store_->Apply(changes);
}

absl::Status ReplicaCache::StartFrom(uint64_t version, const std::string& cluster_id) {
  return store_->StartFrom(version, cluster_id);
}

uint64_t ReplicaCache::LookupAll(
    const std::vector<std::string>& keys,
    std::vector<std::shared_ptr<const server::cache::CachedValue>>* out) {
  google::protobuf::RepeatedPtrField<std::string> wire(keys.begin(), keys.end());
  return store_->LookupAll(wire, out);
}

server::FetchOutcome ReplicaCache::Fetch(const std::string& key, absl::Time deadline) {
  // The outcome outlives this call if the wait times out first.
  struct Wait {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    server::FetchOutcome outcome ABSL_GUARDED_BY(mu);
  };
  auto wait = std::make_shared<Wait>();
  const int64_t joined = Clock::Real()->MonotonicMicros();
  bool leader = store_->JoinFetch(key, joined, [wait](const server::FetchOutcome& o) {
    absl::MutexLock l(&wait->mu);
    wait->outcome = o;
    wait->done = true;
  });
  if (leader) {
    kvstore::v1::FetchRequest request;
    kvstore::v1::FetchResponse response;
    request.set_key(key);
    request.set_node_id(node_id_);
    // At least as fresh as this replica, so a fetched value never takes a reader back.
    request.mutable_options()->set_min_version(applied_version());
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    authorize_(&context);
    grpc::Status s = upstream_->Fetch(&context, request, &response);
    store_->FinishFetch(key, FromGrpcStatus(s), response);
  }
  absl::MutexLock l(&wait->mu);
  auto done = [&wait]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(wait->mu) { return wait->done; };
  if (!wait->mu.AwaitWithDeadline(absl::Condition(&done), deadline)) {
    server::FetchOutcome timed_out;
    timed_out.status = absl::DeadlineExceededError("the upstream fetch for this key did not end");
    return timed_out;
  }
  server::FetchOutcome outcome = wait->outcome;
  if (!outcome.info.node_id().empty()) {
    outcome.info.set_staleness_micros(server::FetchedStaleness(
        outcome.info.staleness_micros(), joined - outcome.fetch_started_micros));
  }
  return outcome;
}

}  // namespace kv::replica

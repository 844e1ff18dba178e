#pragma once
// A LocalReplica's cache mode: the cache edge's CacheStore (W-TinyLFU, coherent with the stream,
// one coalesced upstream fetch per cold key, multi-key lookups at one stream state), held in
// memory only, and the blocking cold fetch a replica's caller waits on.
//
// Threading: the ChangeApplier and HeadFollower methods come from the Subscriber's thread;
// everything else from any thread. Fetch blocks the calling thread for at most until its
// deadline. Ownership: owns its CacheStore; the stub outlives it.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "replication/change_applier.h"
#include "server/edge/cache_store.h"

namespace kv::replica {

class ReplicaCache final : public replication::ChangeApplier, public replication::HeadFollower {
 public:
  // `authorize` adds this replica's credentials to a call.
  static absl::StatusOr<std::unique_ptr<ReplicaCache>> Create(
      uint64_t cache_bytes, kvstore::v1::Replication::Stub* upstream, std::string node_id,
      std::function<void(grpc::ClientContext*)> authorize);

  // ChangeApplier / HeadFollower: the CacheStore's.
  uint64_t applied_version() const override { return store_->applied_version(); }
  std::string cluster_id() const override { return store_->cluster_id(); }
  std::string history_id() const override { return store_->history_id(); }
  absl::Status SetHistoryId(const std::string& history_id) override {
    return store_->SetHistoryId(history_id);
  }
  absl::Status Apply(
      const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes) override;
  absl::Status StartFrom(uint64_t version, const std::string& cluster_id) override;

  // The cached value or "not found", or nullptr on a miss.
  std::shared_ptr<const server::cache::CachedValue> Lookup(const std::string& key) {
    return store_->Lookup(key);
  }
  // A cold read: joins (or makes) the one upstream fetch for `key`, at least as fresh as this
  // replica's applied version, and waits for it until `deadline`. An upstream answer's
  // staleness includes how long this caller joined after the fetch began.
  server::FetchOutcome Fetch(const std::string& key, absl::Time deadline);
  // Every key at one state of the stream; returns that state's applied version (a value a cold
  // fetch installed may be newer: CacheStore::LookupAll).
  uint64_t LookupAll(const std::vector<std::string>& keys,
                     std::vector<std::shared_ptr<const server::cache::CachedValue>>* out);

  void FillStatus(kvstore::v1::CacheStatus* status) const { store_->FillStatus(status); }

 private:
  ReplicaCache(std::unique_ptr<server::CacheStore> store, kvstore::v1::Replication::Stub* upstream,
               std::string node_id, std::function<void(grpc::ClientContext*)> authorize)
      : store_(std::move(store)),
        upstream_(upstream),
        node_id_(std::move(node_id)),
        authorize_(std::move(authorize)) {}

  const std::unique_ptr<server::CacheStore> store_;
  kvstore::v1::Replication::Stub* const upstream_;
  const std::string node_id_;
  const std::function<void(grpc::ClientContext*)> authorize_;
};

}  // namespace kv::replica

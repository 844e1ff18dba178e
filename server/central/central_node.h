#pragma once
// The central node: the single authority. It validates and commits writes through the group
// commit pipeline, answers reads from its own store (staleness 0), sweeps expired keys, trims
// its change log, and is the root upstream of the replication tree.
//
// Threading: the Node methods are called from gRPC and HTTP threads, any number at once. Reads
// run on the calling thread against the store; writes are queued to the WritePipeline, whose
// commit thread answers them (Done runs there). Stop is called once, by kvd's main thread, after
// the RPC server has shut down.
// Ownership: the node owns its store, publisher, watch hub, pipeline, sweeper and retention, all
// created by Open and constant after it; the Clock outlives it.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "replication/log_retention.h"
#include "server/central/backup_runner.h"
#include "server/central/expiry_sweeper.h"
#include "server/central/write_pipeline.h"
#include "server/node/cluster_data.h"
#include "server/node/key_set_admin.h"
#include "server/node/limits.h"
#include "server/node/node.h"
#include "server/node/replication_source.h"
#include "server/storage/versioned_store.h"
#include "server/watch/watch_hub.h"

namespace kv::replication {
class Publisher;
}

namespace kv::server {

struct CentralOptions {
  // RocksDB data directory.
  std::string data_dir;
  // Name in logs, Status and downstream tables.
  std::string node_id = "central";
  Limits limits;
  replication::LogRetentionOptions retention;
  ExpirySweeperOptions expiry;
  // Group commit batch limits.
  size_t max_batch_ops = 2048;
  size_t max_batch_bytes = 64ull << 20;
  // RocksDB block cache.
  uint64_t block_cache_bytes = 256ull << 20;
  // fsync every group commit (turn off only for benchmarks that say so).
  bool sync_writes = true;
  // Free disk space to keep under data_dir (--min-free-disk): writes that would eat into it are
  // refused with RESOURCE_EXHAUSTED, and the node reports itself not ready for writes, until
  // space returns. 0 = no check.
  uint64_t min_free_disk_bytes = 1ull << 30;
  // Values larger than this travel down the stream as invalidations.
  uint64_t push_value_limit = 64 << 10;
  // Observes each group commit (writes, seconds), for metrics. May be empty.
  std::function<void(size_t, double)> on_group_commit;
  // Called for every change of a reserved key (cluster data, common/reserved_keys.h): at Open
  // for what the store holds, then on the commit thread for each committed change. Must not
  // block. May be empty.
  ClusterDataObserver on_cluster_data;
  // A JWKS document to commit as the cluster's key set at Open, when the store holds none yet
  // (--auth-jwks). A stored key set wins: it was set later, by kvctl auth set-keys.
  std::string seed_key_set;
  // In-memory tail of recent changes kept for live subscribers.
  size_t publisher_tail_changes = 100000;
  uint64_t publisher_tail_bytes = 64ull << 20;
  // Central nodes with standbys (docs/ha.md): the leader's hooks of the write pipeline
  // (WritePipelineOptions::replicate and may_acknowledge) and the staleness this node reports
  // downstream (a standby's). With `replicate` set the node starts as a standby: it refuses
  // writes until SetWritable(OK), publishes a batch to edges only once it is committed, and
  // seeds the key set only when it leads. Empty = a central node alone.
  std::function<absl::Status(const CommittedChanges&)> replicate;
  std::function<absl::Status()> may_acknowledge;
  std::function<void(const absl::Status&)> abandon;
  std::function<int64_t()> staleness_micros;
  // Watchers (KV.Watch, GET /v1/watch): limits and progress interval. node_id, max_value_bytes
  // (= push_value_limit) and max_key_bytes are filled in by Open.
  WatchHubOptions watch;
};

class CentralNode final : public Node, public ReplicationSource, public KeySetAdmin {
 public:
  static absl::StatusOr<std::unique_ptr<CentralNode>> Open(const CentralOptions& options,
                                                           Clock* clock);
  ~CentralNode() override;

  void Get(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
           const CallContext& call, Done done) override;
  void BatchGet(const kvstore::v1::BatchGetRequest& request,
                kvstore::v1::BatchGetResponse* response, const CallContext& call,
                Done done) override;
  void Put(const kvstore::v1::PutRequest& request, kvstore::v1::PutResponse* response,
           const CallContext& call, Done done) override;
  void Delete(const kvstore::v1::DeleteRequest& request, kvstore::v1::DeleteResponse* response,
              const CallContext& call, Done done) override;
  void Commit(const kvstore::v1::CommitRequest& request, kvstore::v1::CommitResponse* response,
              const CallContext& call, Done done) override;
  void List(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
            const CallContext& call, Done done) override;
  void Fetch(const kvstore::v1::FetchRequest& request, kvstore::v1::FetchResponse* response,
             const CallContext& call, Done done) override;
  void GetStatus(kvstore::v1::StatusResponse* status) override;
  // KeySetAdmin.
  void SetKeySet(const kvstore::v1::SetKeySetRequest& request,
                 kvstore::v1::SetKeySetResponse* response, const CallContext& call,
                 Done done) override;
  // Not ready while stopped, or while writes are refused (no disk space, storage stopped).
  bool Ready(std::string* why_not) override;

  // Finishes queued writes and stops background work. Call after the RPC server has shut down.
  void Stop();
  // Central nodes with standbys: OK opens the write pipeline (this node leads); an error closes
  // it, and every write is answered with it (a standby).
  void SetWritable(absl::Status refusal) { pipeline_->SetRefusal(std::move(refusal)); }
  // The new leader commits --auth-jwks when the store holds no key set; in the background,
  // since the commit waits for the standbys (the outcome is logged).
  void SeedKeySetInBackground();

  // ReplicationSource: the root upstream serves downstreams from the start.
  VersionedStore* store() override { return store_.get(); }
  replication::Publisher* publisher() override { return publisher_.get(); }
  absl::Status CanServeDownstreams() const override { return absl::OkStatus(); }
  WritePipeline* pipeline() { return pipeline_.get(); }
  // Every committed change, for watchers.
  WatchHub* watch_hub() { return watch_hub_.get(); }
  // Admin.Backup: online backups of the store.
  BackupAdmin* backups() { return backups_.get(); }
  ExpirySweeper* sweeper() { return sweeper_.get(); }
  const CentralOptions& options() const { return options_; }
  uint64_t fetches_served() const { return fetches_.load(); }

 private:
  // The absolute expiration a put asks for (a TTL counts from now), 0 = never.
  int64_t Expiration(const kvstore::v1::PutRequest& request) const;
  CentralNode(const CentralOptions& options, Clock* clock);
  // Fills `entry`/`found`/`info` for one key read at this node.
  absl::Status ReadKey(const std::string& key, uint64_t min_version, bool* found,
                       kvstore::v1::Entry* entry, kvstore::v1::ReadInfo* info);
  void FillInfo(uint64_t as_of, kvstore::v1::ReadInfo* info) const;
  // Commits options_.seed_key_set when the store has no key set; waits for the commit.
  absl::Status SeedKeySet();
  // Get and Fetch: one key at this node (staleness 0).
  template <typename Request, typename Response>
  void ReadOne(const Request& request, Response* response, Done done);

  // Constant after construction (the pointers: after Open).
  const CentralOptions options_;
  Clock* const clock_;
  const int64_t started_micros_;
  std::string cluster_id_;
  std::unique_ptr<VersionedStore> store_;
  std::unique_ptr<replication::Publisher> publisher_;
  std::unique_ptr<WatchHub> watch_hub_;
  std::unique_ptr<WritePipeline> pipeline_;
  std::unique_ptr<ExpirySweeper> sweeper_;
  std::unique_ptr<replication::LogRetention> retention_;
  std::unique_ptr<BackupRunner> backups_;  // after store_: stopped and destroyed before it
  // Counters and flags.
  std::atomic<uint64_t> fetches_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace kv::server

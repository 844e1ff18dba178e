#include "server/central/central_node.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "auth/key_set.h"
#include "common/build_info.h"
#include "common/log.h"
#include "common/reserved_keys.h"
#include "replication/publisher.h"
#include "server/storage/cluster_data.h"
#include "server/storage/data_dir_role.h"
#include "server/storage/store_reads.h"
#include "server/storage/store_status.h"

namespace kv::server {

using kvstore::v1::Entry;
using kvstore::v1::ReadInfo;

absl::StatusOr<std::unique_ptr<CentralNode>> CentralNode::Open(const CentralOptions& options,
                                                               Clock* clock) {
  std::unique_ptr<CentralNode> node(new CentralNode(options, clock));
  // Before RocksDB touches it: an edge's directory is refused unchanged.
  if (auto s = ClaimDataDir(options.data_dir, DataDirRole::kCentral); !s.ok()) return s;
  StoreOptions store_options;
  store_options.path = options.data_dir;
  store_options.sync = options.sync_writes;
  store_options.index_expirations = true;
  store_options.block_cache_bytes = options.block_cache_bytes;
  store_options.disk.min_free_bytes = options.min_free_disk_bytes;
  auto store = VersionedStore::Open(store_options);
  if (!store.ok()) return store.status();
  node->store_ = std::move(*store);
  if (node->store_->snapshot_incomplete()) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.data_dir, " holds an interrupted edge snapshot, not a central node's data"));
  }
  auto cluster = node->store_->EnsureClusterId();
  if (!cluster.ok()) return cluster.status();
  node->cluster_id_ = *cluster;
  // A new store begins a history; `kvd restore` gives a restored one a new history.
  auto history = node->store_->EnsureHistoryId();
  if (!history.ok()) return history.status();

  replication::PublisherOptions pub;
  pub.node_id = options.node_id;
  pub.push_value_limit = options.push_value_limit;
  pub.tail_changes = options.publisher_tail_changes;
  pub.tail_bytes = options.publisher_tail_bytes;
  VersionedStore* readable = node->store_.get();
  pub.readable_head = [readable] { return readable->head_version(); };
  node->publisher_ = std::make_unique<replication::Publisher>(
      &node->store_->log(), clock, pub, node->cluster_id_, node->store_->head_version(),
      options.staleness_micros ? options.staleness_micros : [] { return int64_t{0}; });
  node->publisher_->SetHistoryId(*history);
  WatchHubOptions watch = options.watch;
  watch.node_id = options.node_id;
  VersionedStore* readable_store = node->store_.get();
  watch.readable_head = [readable_store] { return readable_store->head_version(); };
  watch.max_value_bytes = options.push_value_limit;
  watch.max_key_bytes = options.limits.max_key_bytes;
  node->watch_hub_ =
      std::make_unique<WatchHub>(clock, watch, &node->store_->log(), options.staleness_micros);
  node->watch_hub_->Start(node->store_->head_version());

  WritePipelineOptions wp;
  wp.max_batch_ops = options.max_batch_ops;
  wp.max_batch_bytes = options.max_batch_bytes;
  replication::Publisher* publisher = node->publisher_.get();
  WatchHub* hub = node->watch_hub_.get();
  wp.on_batch = options.on_group_commit;
  auto on_cluster_data = options.on_cluster_data;
  wp.replicate = options.replicate;
  wp.may_acknowledge = options.may_acknowledge;
  wp.abandon = options.abandon;
  const bool proposed = static_cast<bool>(options.replicate);
  wp.on_commit = [publisher, hub, on_cluster_data, proposed](const CommittedChanges& changes) {
    // The watch hub first: its progress messages claim freshness, and the publisher may start
    // stream writes on this thread before it returns.
    hub->Append(changes);
    // A leader with standbys proposed the batch to them already: it is committed now.
    if (proposed) {
      publisher->Commit(changes.back()->version());
    } else {
      publisher->Append(changes);
    }
    if (!on_cluster_data) return;
    for (const auto& c : changes) {
      if (IsReservedKey(c->key())) on_cluster_data(*c, /*restart=*/false);
    }
  };
  node->pipeline_ = std::make_unique<WritePipeline>(node->store_.get(), clock, std::move(wp));
  if (proposed) {
    node->pipeline_->SetRefusal(absl::UnavailableError(
        "this central node has not joined its cluster yet (no leader known)"));
  }
  node->sweeper_ = std::make_unique<ExpirySweeper>(node->store_.get(), node->pipeline_.get(), clock,
                                                   options.expiry);
  node->retention_ =
      std::make_unique<replication::LogRetention>(&node->store_->log(), options.retention);
  node->backups_ = std::make_unique<BackupRunner>(node->store_.get());
  if (auto s = ReportClusterData(*node->store_, options.on_cluster_data,
                                 /*restart=*/true);
      !s.ok()) {
    return s;
  }
  if (!proposed) {
    if (auto s = node->SeedKeySet(); !s.ok()) return s;
  }
  KV_LOG(INFO) << "central node " << options.node_id << " opened " << options.data_dir
               << ": cluster " << node->cluster_id_ << ", history " << *history << ", head version "
               << node->store_->head_version() << ", change log " << node->store_->log().oldest()
               << ".." << node->store_->log().newest();
  return node;
}

CentralNode::CentralNode(const CentralOptions& options, Clock* clock)
    : options_(options), clock_(clock), started_micros_(clock->MonotonicMicros()) {}

CentralNode::~CentralNode() { Stop(); }

void CentralNode::Stop() {
  if (stopped_.exchange(true)) return;
  if (backups_) backups_->Stop();  // a backup in progress is cancelled
  if (sweeper_) sweeper_->Stop();
  if (retention_) retention_->Stop();
  if (pipeline_) pipeline_->Stop();  // commits and answers what is queued
  if (publisher_) {
    publisher_->FinishAll();
    publisher_->Stop();
  }
  if (watch_hub_) {
    watch_hub_->FinishAll();
    watch_hub_->Stop();
  }
}

absl::Status CentralNode::SeedKeySet() {
  if (options_.seed_key_set.empty()) return absl::OkStatus();
  PinnedRecord record;
  auto found = store_->Get(kKeySetKey, &record);
  if (!found.ok()) return found.status();
  if (*found) {
    if (record.view.value != options_.seed_key_set) {
      KV_LOG(WARN) << "the store holds a key set committed at version " << record.view.version
                   << " (by kvctl auth set-keys); it is used, and --auth-jwks is not";
    }
    return absl::OkStatus();
  }
  if (auto keys = auth::KeySet::Parse(options_.seed_key_set); !keys.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth-jwks: not a usable key set: ", keys.status().message()));
  }
  absl::Notification committed;
  WriteResult result;
  WriteOp op;
  op.kind = WriteOp::Kind::kPut;
  op.key = std::string(kKeySetKey);
  op.value = options_.seed_key_set;
  op.done = [&](const WriteResult& r) {
    result = r;
    committed.Notify();
  };
  pipeline_->Submit(std::move(op));
  committed.WaitForNotification();
  if (!result.status.ok()) return result.status;
  KV_LOG(INFO) << "key set from --auth-jwks committed at version " << result.version;
  return absl::OkStatus();
}

void CentralNode::SeedKeySetInBackground() {
  if (options_.seed_key_set.empty()) return;
  PinnedRecord record;
  auto found = store_->Get(kKeySetKey, &record);
  if (!found.ok() || *found) return;
  WriteOp op;
  op.kind = WriteOp::Kind::kPut;
  op.key = std::string(kKeySetKey);
  op.value = options_.seed_key_set;
  op.if_version = 0;  // only if still absent: a key set set meanwhile wins
  op.done = [](const WriteResult& r) {
    if (r.status.ok()) {
      KV_LOG(INFO) << "key set from --auth-jwks committed at version " << r.version;
    } else {
      KV_LOG(WARN) << "could not commit the key set from --auth-jwks: " << r.status;
    }
  };
  pipeline_->Submit(std::move(op));
}

void CentralNode::SetKeySet(const kvstore::v1::SetKeySetRequest& request,
                            kvstore::v1::SetKeySetResponse* response, const CallContext& call,
                            Done done) {
  auto keys = auth::KeySet::Parse(request.jwks());
  if (!keys.ok()) {
    return std::move(done)(absl::InvalidArgumentError(
        absl::StrCat("not a usable key set: ", keys.status().message())));
  }
  if (request.jwks().size() > options_.limits.max_value_bytes) {
    return std::move(done)(absl::InvalidArgumentError("the key set is larger than a value may be"));
  }
  std::vector<std::string> kids;
  for (const auto& k : (*keys)->keys()) kids.push_back(k->key.kid);
  WriteOp op;
  op.kind = WriteOp::Kind::kPut;
  op.key = std::string(kKeySetKey);
  op.value = request.jwks();
  op.done = [response, kids = std::move(kids),
             done = std::move(done)](const WriteResult& r) mutable {
    if (r.status.ok()) {
      response->set_version(r.version);
      for (auto& kid : kids) response->add_kids(std::move(kid));
      KV_LOG(INFO) << "key set replaced at version " << r.version;
    }
    std::move(done)(r.status);
  };
  pipeline_->Submit(std::move(op));
}

void CentralNode::FillInfo(uint64_t as_of, ReadInfo* info) const {
  info->set_staleness_micros(0);
  info->set_source(kvstore::v1::SOURCE_CENTRAL);
  info->set_as_of_version(as_of);
  info->set_node_id(options_.node_id);
}

absl::Status CentralNode::ReadKey(const std::string& key, uint64_t min_version, bool* found,
                                  Entry* entry, ReadInfo* info) {
  // The head is read before the key: the answer reflects at least every write up to it.
  uint64_t as_of = store_->head_version();
  if (min_version > as_of) {
    return absl::OutOfRangeError(absl::StrCat("min_version ", min_version,
                                              " is ahead of the central node's head version ",
                                              as_of, " (no such version was committed)"));
  }
  auto read = ReadLocal(*store_, key, clock_->UnixSeconds(), entry);
  if (!read.ok()) return read.status();
  *found = *read == LocalRead::kFound;
  if (!*found) entry->Clear();
  if (info != nullptr) FillInfo(as_of, info);
  return absl::OkStatus();
}

template <typename Request, typename Response>
void CentralNode::ReadOne(const Request& request, Response* response, Done done) {
  bool found = false;
  absl::Status s = ReadKey(request.key(), request.options().min_version(), &found,
                           response->mutable_entry(), response->mutable_info());
  if (s.ok()) {
    response->set_found(found);
    if (!found) response->clear_entry();
  }
  std::move(done)(s);
}

void CentralNode::Get(const kvstore::v1::GetRequest& request, kvstore::v1::GetResponse* response,
                      const CallContext& call, Done done) {
  if (auto s = ValidateGet(options_.limits, request); !s.ok()) return std::move(done)(s);
  ReadOne(request, response, std::move(done));
}

void CentralNode::Fetch(const kvstore::v1::FetchRequest& request,
                        kvstore::v1::FetchResponse* response, const CallContext& call, Done done) {
  if (auto s = ValidateFetch(options_.limits, request); !s.ok()) return std::move(done)(s);
  fetches_.fetch_add(1, std::memory_order_relaxed);
  ReadOne(request, response, std::move(done));
}

void CentralNode::BatchGet(const kvstore::v1::BatchGetRequest& request,
                           kvstore::v1::BatchGetResponse* response, const CallContext& call,
                           Done done) {
  if (auto s = ValidateBatchGet(options_.limits, request); !s.ok()) return std::move(done)(s);
  // One state for every key: a commit is seen whole or not at all.
  const ReadPoint point = store_->NewReadPoint();
  const uint64_t as_of = point.head;
  if (request.options().min_version() > as_of) {
    return std::move(done)(absl::OutOfRangeError(
        absl::StrCat("min_version ", request.options().min_version(),
                     " is ahead of the central node's head version ", as_of)));
  }
  auto read = BatchReadLocal(*store_, request.keys(), clock_->UnixSeconds(), point, response);
  if (!read.ok()) return std::move(done)(read.status());
  for (auto& result : *response->mutable_results()) result.set_source(kvstore::v1::SOURCE_CENTRAL);
  FillInfo(as_of, response->mutable_info());
  std::move(done)(absl::OkStatus());
}

void CentralNode::Put(const kvstore::v1::PutRequest& request, kvstore::v1::PutResponse* response,
                      const CallContext& call, Done done) {
  int64_t now = clock_->UnixSeconds();
  if (auto s = ValidatePut(options_.limits, request, now); !s.ok()) return std::move(done)(s);
  WriteOp op;
  op.kind = WriteOp::Kind::kPut;
  op.key = request.key();
  op.value = request.value();
  op.metadata = request.metadata();
  op.expiration = Expiration(request);
  if (request.has_if_version()) op.if_version = request.if_version();
  op.done = [response, done = std::move(done)](const WriteResult& r) mutable {
    if (r.status.ok()) {
      response->set_version(r.version);
      response->set_expiration(r.expiration);
    }
    std::move(done)(r.status);
  };
  pipeline_->Submit(std::move(op));
}

void CentralNode::Delete(const kvstore::v1::DeleteRequest& request,
                         kvstore::v1::DeleteResponse* response, const CallContext& call,
                         Done done) {
  if (auto s = ValidateDelete(options_.limits, request); !s.ok()) return std::move(done)(s);
  WriteOp op;
  op.kind = WriteOp::Kind::kDelete;
  op.key = request.key();
  if (request.has_if_version()) op.if_version = request.if_version();
  op.done = [response, done = std::move(done)](const WriteResult& r) mutable {
    if (r.status.ok()) {
      response->set_deleted(r.applied);
      response->set_version(r.version);
    }
    std::move(done)(r.status);
  };
  pipeline_->Submit(std::move(op));
}

void CentralNode::Commit(const kvstore::v1::CommitRequest& request,
                         kvstore::v1::CommitResponse* response, const CallContext& call,
                         Done done) {
  int64_t now = clock_->UnixSeconds();
  if (auto s = ValidateCommit(options_.limits, request, now); !s.ok()) {
    return std::move(done)(s);
  }
  WriteOp op;
  op.kind = WriteOp::Kind::kCommit;
  op.commit = &request;
  op.commit_expirations.reserve(request.mutations_size());
  for (const auto& m : request.mutations()) {
    op.commit_expirations.push_back(m.has_put() ? Expiration(m.put()) : 0);
  }
  op.done = [response, done = std::move(done)](const WriteResult& r) mutable {
    if (r.status.ok()) {
      response->set_version(r.version);
      for (int64_t counter : r.counters) response->add_counters(counter);
    }
    std::move(done)(r.status);
  };
  pipeline_->Submit(std::move(op));
}

int64_t CentralNode::Expiration(const kvstore::v1::PutRequest& request) const {
  if (request.ttl_seconds() == 0) return request.expiration();
  // Expirations are whole seconds: round up, so a key lives at least its TTL.
  int64_t expires_micros = clock_->UnixMicros() + request.ttl_seconds() * 1'000'000;
  return (expires_micros + 999'999) / 1'000'000;
}

void CentralNode::List(const kvstore::v1::ListRequest& request, kvstore::v1::ListResponse* response,
                       const CallContext& call, Done done) {
  if (auto s = ValidateList(options_.limits, request); !s.ok()) return std::move(done)(s);
  uint64_t as_of = store_->head_version();
  auto listed = ListLocal(*store_, options_.limits, request, clock_->UnixSeconds(), response);
  if (listed.ok()) FillInfo(as_of, response->mutable_info());
  std::move(done)(listed.status());
}

void CentralNode::GetStatus(kvstore::v1::StatusResponse* status) {
  status->set_role("central");
  status->set_node_id(options_.node_id);
  status->set_cluster_id(cluster_id_);
  status->set_build_version(kBuildVersion);
  status->set_uptime_seconds((clock_->MonotonicMicros() - started_micros_) / 1000000);
  status->set_head_version(store_->head_version());
  status->set_oldest_log_version(store_->log().entries() > 0 ? store_->log().oldest() : 0);
  status->set_log_entries(store_->log().entries());
  status->set_key_count(store_->ApproximateKeyCount());
  status->set_approximate_data_bytes(store_->ApproximateDataBytes());
  std::string why_not;
  status->set_ready(Ready(&why_not));
  FillStoreStatus(*store_, status);
  // The central node's checksum is the central one.
  status->set_central_checksum(status->checksum());
  status->set_central_checksum_known(true);
  status->set_log_retention_entries(options_.retention.max_entries);
  status->set_log_retention_seconds(absl::ToInt64Seconds(options_.retention.max_age));
  status->set_fetches_served(fetches_.load());
  std::vector<kvstore::v1::DownstreamStatus> downstreams;
  publisher_->GetDownstreams(&downstreams);
  for (auto& d : downstreams) *status->add_downstreams() = std::move(d);
}

bool CentralNode::Ready(std::string* why_not) {
  if (stopped_.load()) {
    *why_not = "the central node is shutting down";
    return false;
  }
  // Reads are still served, but a load balancer should send writers elsewhere (or nowhere).
  if (absl::Status writes = store_->WritesAccepted(); !writes.ok()) {
    *why_not = absl::StrCat("not ready for writes: ", writes.message());
    return false;
  }
  return true;
}

}  // namespace kv::server

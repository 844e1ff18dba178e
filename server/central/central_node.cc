#include "server/central/central_node.h"

#include "absl/strings/str_cat.h"
#include "common/build_info.h"
#include "common/log.h"
#include "replication/publisher.h"
#include "server/storage/store_reads.h"

namespace kv::server {

using kvstore::v1::Entry;
using kvstore::v1::ReadInfo;

absl::StatusOr<std::unique_ptr<CentralNode>> CentralNode::Open(const CentralOptions& options,
                                                               Clock* clock) {
  std::unique_ptr<CentralNode> node(new CentralNode(options, clock));
  StoreOptions store_options;
  store_options.path = options.data_dir;
  store_options.sync = options.sync_writes;
  store_options.index_expirations = true;
  store_options.block_cache_bytes = options.block_cache_bytes;
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

  replication::PublisherOptions pub;
  pub.node_id = options.node_id;
  pub.push_value_limit = options.push_value_limit;
  pub.tail_changes = options.publisher_tail_changes;
  pub.tail_bytes = options.publisher_tail_bytes;
  node->publisher_ = std::make_unique<replication::Publisher>(
      &node->store_->log(), clock, pub, node->cluster_id_, node->store_->head_version(),
      [] { return int64_t{0}; });

  WritePipelineOptions wp;
  wp.max_batch_ops = options.max_batch_ops;
  wp.max_batch_bytes = options.max_batch_bytes;
  replication::Publisher* publisher = node->publisher_.get();
  wp.on_batch = options.on_group_commit;
  wp.on_commit = [publisher](const CommittedChanges& changes) { publisher->Append(changes); };
  node->pipeline_ = std::make_unique<WritePipeline>(node->store_.get(), clock, std::move(wp));
  node->sweeper_ = std::make_unique<ExpirySweeper>(node->store_.get(), node->pipeline_.get(), clock,
                                                   options.expiry);
  node->retention_ =
      std::make_unique<replication::LogRetention>(&node->store_->log(), options.retention);
  KV_LOG(INFO) << "central node " << options.node_id << " opened " << options.data_dir
               << ": cluster " << node->cluster_id_ << ", head version "
               << node->store_->head_version() << ", change log " << node->store_->log().oldest()
               << ".." << node->store_->log().newest();
  return node;
}

CentralNode::CentralNode(const CentralOptions& options, Clock* clock)
    : options_(options), clock_(clock), started_micros_(clock->MonotonicMicros()) {}

CentralNode::~CentralNode() { Stop(); }

void CentralNode::Stop() {
  if (stopped_.exchange(true)) return;
  if (sweeper_) sweeper_->Stop();
  if (retention_) retention_->Stop();
  if (pipeline_) pipeline_->Stop();  // commits and answers what is queued
  if (publisher_) {
    publisher_->FinishAll();
    publisher_->Stop();
  }
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
  uint64_t as_of = store_->head_version();
  if (request.options().min_version() > as_of) {
    return std::move(done)(absl::OutOfRangeError(
        absl::StrCat("min_version ", request.options().min_version(),
                     " is ahead of the central node's head version ", as_of)));
  }
  int64_t now = clock_->UnixSeconds();
  for (const std::string& key : request.keys()) {
    auto* result = response->add_results();
    auto read = ReadLocal(*store_, key, now, result->mutable_entry());
    if (!read.ok()) return std::move(done)(read.status());
    result->set_found(*read == LocalRead::kFound);
    if (!result->found()) result->clear_entry();
    result->set_source(kvstore::v1::SOURCE_CENTRAL);
  }
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
  if (request.ttl_seconds() != 0) {
    // Expirations are whole seconds: round up, so a key lives at least its TTL.
    int64_t expires_micros = clock_->UnixMicros() + request.ttl_seconds() * 1'000'000;
    op.expiration = (expires_micros + 999'999) / 1'000'000;
  } else {
    op.expiration = request.expiration();
  }
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
  status->set_ready(true);
  status->set_log_retention_entries(options_.retention.max_entries);
  status->set_log_retention_seconds(absl::ToInt64Seconds(options_.retention.max_age));
  status->set_fetches_served(fetches_.load());
  std::vector<kvstore::v1::DownstreamStatus> downstreams;
  publisher_->GetDownstreams(&downstreams);
  for (auto& d : downstreams) *status->add_downstreams() = std::move(d);
}

bool CentralNode::Ready(std::string* why_not) { return !stopped_.load(); }

}  // namespace kv::server

#include "tests/integration/replica_kv_server.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "kvstore/v1/kv.grpc.pb.h"

namespace kv::testing {
namespace {

namespace pb = kvstore::v1;
using client::Source;

client::ReadOptions FromWire(const pb::ReadOptions& o) {
  client::ReadOptions r;
  r.consistency = o.consistency() == pb::CONSISTENCY_STRONG ? client::Consistency::kStrong
                                                            : client::Consistency::kBounded;
  r.max_staleness = absl::Microseconds(o.max_staleness_micros());
  r.min_version = o.min_version();
  r.allow_stale = o.allow_stale();
  r.use_session = false;
  return r;
}

pb::Source ToWire(Source s, client::ReplicaMode mode) {
  switch (s) {
    case Source::kLocalReplica:
      return mode == client::ReplicaMode::kFull ? pb::SOURCE_EDGE_STORE : pb::SOURCE_EDGE_CACHE;
    case Source::kCentral:
      return pb::SOURCE_CENTRAL;
    case Source::kEdgeStore:
      return pb::SOURCE_EDGE_STORE;
    case Source::kEdgeCache:
      return pb::SOURCE_EDGE_CACHE;
    case Source::kUpstream:
      return pb::SOURCE_UPSTREAM;
    case Source::kUnknown:
      break;
  }
  return pb::SOURCE_UNSPECIFIED;
}

void ToWire(const client::ReadInfo& info, client::ReplicaMode mode, pb::ReadInfo* out) {
  out->set_staleness_micros(info.staleness == absl::InfiniteDuration()
                                ? std::numeric_limits<int64_t>::max()
                                : absl::ToInt64Microseconds(info.staleness));
  out->set_source(ToWire(info.source, mode));
  out->set_as_of_version(info.as_of_version);
  out->set_node_id(info.node_id);
  out->set_stale(info.stale);
}

void ToWire(const client::Entry& e, pb::Entry* out) {
  out->set_key(e.key);
  out->set_value(e.value);
  out->set_metadata(e.metadata);
  out->set_version(e.version);
  out->set_expiration(e.expiration);
}

}  // namespace

class ReplicaKvServer::Service final : public pb::KV::Service {
 public:
  Service(client::LocalReplica* replica, client::ReplicaMode mode)
      : replica_(replica), mode_(mode) {}

  grpc::Status Get(grpc::ServerContext*, const pb::GetRequest* request,
                   pb::GetResponse* response) override {
    auto got = replica_->Get(request->key(), FromWire(request->options()));
    if (!got.ok()) return ToGrpcStatus(got.status());
    response->set_found(got->found);
    if (got->found) ToWire(got->entry, response->mutable_entry());
    ToWire(got->info, mode_, response->mutable_info());
    return grpc::Status::OK;
  }

  grpc::Status BatchGet(grpc::ServerContext*, const pb::BatchGetRequest* request,
                        pb::BatchGetResponse* response) override {
    std::vector<std::string> keys(request->keys().begin(), request->keys().end());
    auto got = replica_->BatchGet(keys, FromWire(request->options()));
    if (!got.ok()) return ToGrpcStatus(got.status());
    for (const auto& item : got->items) {
      auto* r = response->add_results();
      r->set_found(item.found);
      if (item.found) ToWire(item.entry, r->mutable_entry());
      r->set_source(ToWire(item.source, mode_));
    }
    ToWire(got->info, mode_, response->mutable_info());
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext*, const pb::ListRequest* request,
                    pb::ListResponse* response) override {
    client::ListOptions list;
    list.prefix = request->prefix();
    list.cursor = request->cursor();
    list.limit = request->limit();
    list.include_values = request->include_values();
    auto got = replica_->List(list, FromWire(request->options()));
    if (!got.ok()) return ToGrpcStatus(got.status());
    for (const auto& e : got->entries) ToWire(e, response->add_entries());
    response->set_next_cursor(got->next_cursor);
    ToWire(got->info, mode_, response->mutable_info());
    return grpc::Status::OK;
  }

  grpc::Status Put(grpc::ServerContext*, const pb::PutRequest* request,
                   pb::PutResponse* response) override {
    client::PutOptions put;
    put.metadata = request->metadata();
    put.ttl = absl::Seconds(request->ttl_seconds());
    put.expiration = request->expiration();
    if (request->has_if_version()) put.if_version = request->if_version();
    auto done = replica_->Put(request->key(), request->value(), put);
    if (!done.ok()) return ToGrpcStatus(done.status());
    response->set_version(done->version);
    response->set_expiration(done->expiration);
    return grpc::Status::OK;
  }

  grpc::Status Commit(grpc::ServerContext*, const pb::CommitRequest* request,
                      pb::CommitResponse* response) override {
    std::vector<client::CommitCheck> checks;
    for (const auto& c : request->checks()) {
      checks.push_back(c.absent() ? client::CommitCheck::Absent(c.key())
                                  : client::CommitCheck::AtVersion(c.key(), c.version()));
    }
    std::vector<client::CommitMutation> mutations;
    for (const auto& m : request->mutations()) {
      if (m.has_put()) {
        client::PutOptions put;
        put.metadata = m.put().metadata();
        put.ttl = absl::Seconds(m.put().ttl_seconds());
        put.expiration = m.put().expiration();
        mutations.push_back(client::CommitMutation::Put(m.put().key(), m.put().value(), put));
      } else if (m.has_delete_()) {
        mutations.push_back(client::CommitMutation::Delete(m.delete_().key()));
      } else {
        mutations.push_back(client::CommitMutation::Add(m.add().key(), m.add().delta()));
      }
    }
    auto done = replica_->Commit(checks, mutations);
    if (!done.ok()) return ToGrpcStatus(done.status());
    response->set_version(done->version);
    for (int64_t c : done->counters) response->add_counters(c);
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext*, const pb::DeleteRequest* request,
                      pb::DeleteResponse* response) override {
    client::DeleteOptions del;
    if (request->has_if_version()) del.if_version = request->if_version();
    auto done = replica_->Delete(request->key(), del);
    if (!done.ok()) return ToGrpcStatus(done.status());
    response->set_deleted(done->deleted);
    response->set_version(done->version);
    return grpc::Status::OK;
  }

 private:
  client::LocalReplica* const replica_;
  const client::ReplicaMode mode_;
};

absl::StatusOr<std::unique_ptr<ReplicaKvServer>> ReplicaKvServer::Start(
    std::unique_ptr<client::LocalReplica> replica, client::ReplicaMode mode) {
  std::unique_ptr<ReplicaKvServer> s(new ReplicaKvServer());
  s->replica_ = std::move(replica);
  s->service_ = std::make_unique<Service>(s->replica_.get(), mode);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(s->service_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || port == 0) {
    return absl::InternalError("cannot start the replica's KV server");
  }
  s->address_ = absl::StrCat("127.0.0.1:", port);
  return s;
}

ReplicaKvServer::~ReplicaKvServer() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_.reset();
  replica_.reset();
}

}  // namespace kv::testing

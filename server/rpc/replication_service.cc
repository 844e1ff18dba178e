#include "server/rpc/replication_service.h"

#include <memory>

#include "common/log.h"
#include "replication/publisher.h"
#include "replication/subscribe_stream.h"
#include "server/storage/versioned_store.h"

namespace kv::server {
namespace {

// Refuses a stream with `status` (a reactor that finishes at once).
template <typename Base>
class Refused final : public Base {
 public:
  explicit Refused(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

// Streams one snapshot, one chunk in flight, reading the next chunk when the previous is sent.
class SnapshotStream final : public grpc::ServerWriteReactor<kvstore::v1::SnapshotChunk> {
 public:
  SnapshotStream(std::unique_ptr<SnapshotCursor> cursor, Clock* clock, size_t chunk_bytes,
                 uint64_t total_keys, std::string peer)
      : cursor_(std::move(cursor)),
        clock_(clock),
        chunk_bytes_(chunk_bytes),
        total_keys_(total_keys),
        peer_(std::move(peer)) {
    KV_LOG(INFO) << "snapshot at version " << cursor_->version() << " for " << peer_;
    Next();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "snapshot write failed"));
    if (sent_last_) {
      KV_LOG(INFO) << "snapshot at version " << cursor_->version() << " for " << peer_
                   << " complete: " << entries_sent_ << " keys";
      return Finish(grpc::Status::OK);
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    chunk_.Clear();
    chunk_.set_version(cursor_->version());
    chunk_.set_cluster_id(cursor_->cluster_id());
    chunk_.set_total_keys(total_keys_);
    std::vector<kvstore::v1::Entry> entries, missing;
    auto more = cursor_->Next(chunk_bytes_, clock_->UnixSeconds(), &entries, &missing);
    if (!more.ok()) {
      KV_LOG(ERROR) << "snapshot for " << peer_ << " failed: " << more.status();
      return Finish(grpc::Status(grpc::StatusCode::INTERNAL, std::string(more.status().message())));
    }
    for (auto& e : entries) *chunk_.add_entries() = std::move(e);
    for (auto& e : missing) *chunk_.add_missing_values() = std::move(e);
    entries_sent_ += entries.size() + missing.size();
    sent_last_ = !*more;
    chunk_.set_last(sent_last_);
    StartWrite(&chunk_);
  }

  std::unique_ptr<SnapshotCursor> cursor_;
  Clock* const clock_;
  const size_t chunk_bytes_;
  const uint64_t total_keys_;
  const std::string peer_;
  kvstore::v1::SnapshotChunk chunk_;
  bool sent_last_ = false;
  uint64_t entries_sent_ = 0;
};

}  // namespace

ReplicationService::ReplicationService(ReplicationSource* source, Node* node, Clock* clock,
                                       CallTracker* tracker, ReplicationServiceOptions options)
    : source_(source), node_(node), clock_(clock), tracker_(tracker), options_(options) {}

ReplicationService::ReplicationService(std::string why)
    : source_(nullptr),
      node_(nullptr),
      clock_(nullptr),
      tracker_(nullptr),
      not_an_upstream_(std::move(why)) {}

absl::Status ReplicationService::CanServe() const {
  if (source_ == nullptr) return absl::FailedPreconditionError(not_an_upstream_);
  return source_->CanServeDownstreams();
}

grpc::ServerBidiReactor<kvstore::v1::DownstreamMessage, kvstore::v1::UpstreamMessage>*
ReplicationService::Subscribe(grpc::CallbackServerContext* context) {
  if (absl::Status s = CanServe(); !s.ok()) {
    return new Refused<
        grpc::ServerBidiReactor<kvstore::v1::DownstreamMessage, kvstore::v1::UpstreamMessage>>(
        ToGrpcStatus(s));
  }
  return source_->publisher()->NewStream(context->peer());
}

grpc::ServerWriteReactor<kvstore::v1::SnapshotChunk>* ReplicationService::Snapshot(
    grpc::CallbackServerContext* context, const kvstore::v1::SnapshotRequest* request) {
  if (absl::Status s = CanServe(); !s.ok()) {
    return new Refused<grpc::ServerWriteReactor<kvstore::v1::SnapshotChunk>>(ToGrpcStatus(s));
  }
  snapshots_served_.fetch_add(1);
  VersionedStore* store = source_->store();
  return new SnapshotStream(store->NewSnapshotCursor(), clock_, options_.snapshot_chunk_bytes,
                            store->ApproximateKeyCount(),
                            request->node_id() + " (" + context->peer() + ")");
}

grpc::ServerUnaryReactor* ReplicationService::Fetch(grpc::CallbackServerContext* context,
                                                    const kvstore::v1::FetchRequest* request,
                                                    kvstore::v1::FetchResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (node_ == nullptr) {
    reactor->Finish(ToGrpcStatus(source_ == nullptr
                                     ? absl::FailedPreconditionError(not_an_upstream_)
                                     : absl::UnimplementedError("this upstream serves no Fetch")));
    return reactor;
  }
  Done done = FinishReactor(reactor, tracker_, Method::kFetch);
  if (done) node_->Fetch(*request, response, MakeCallContext(context), std::move(done));
  return reactor;
}

}  // namespace kv::server

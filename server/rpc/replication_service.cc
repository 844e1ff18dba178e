#include "server/rpc/replication_service.h"

#include <malloc.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "absl/strings/str_cat.h"
#include "auth/principal.h"
#include "common/log.h"
#include "replication/chain.h"
#include "replication/publisher.h"
#include "replication/subscribe_stream.h"
#include "server/rpc/admission.h"
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
  // `on_end` runs once the stream is over and its memory is freed.
  SnapshotStream(std::unique_ptr<SnapshotCursor> cursor, Clock* clock, size_t chunk_bytes,
                 uint64_t total_keys, std::string peer, std::function<void()> on_end)
      : cursor_(std::move(cursor)),
        clock_(clock),
        chunk_bytes_(chunk_bytes),
        total_keys_(total_keys),
        peer_(std::move(peer)),
        on_end_(std::move(on_end)) {
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
  void OnDone() override {
    std::function<void()> on_end = std::move(on_end_);
    delete this;
    if (on_end) on_end();
  }

 private:
  void Next() {
    chunk_.Clear();
    chunk_.set_version(cursor_->version());
    chunk_.set_cluster_id(cursor_->cluster_id());
    chunk_.set_history_id(cursor_->history_id());
    chunk_.set_total_keys(total_keys_);
    chunk_.set_checksum(cursor_->checksum());
    std::vector<kvstore::v1::Entry> entries, missing;
    std::vector<uint64_t> missing_hashes;
    auto more =
        cursor_->Next(chunk_bytes_, clock_->UnixSeconds(), &entries, &missing, &missing_hashes);
    if (!more.ok()) {
      KV_LOG(ERROR) << "snapshot for " << peer_ << " failed: " << more.status();
      return Finish(grpc::Status(grpc::StatusCode::INTERNAL, std::string(more.status().message())));
    }
    for (auto& e : entries) *chunk_.add_entries() = std::move(e);
    for (auto& e : missing) *chunk_.add_missing_values() = std::move(e);
    for (uint64_t h : missing_hashes) chunk_.add_missing_value_hashes(h);
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
  std::function<void()> on_end_;
  kvstore::v1::SnapshotChunk chunk_;
  bool sent_last_ = false;
  uint64_t entries_sent_ = 0;
};

}  // namespace

ReplicationService::ReplicationService(ReplicationSource* source, Node* node, Gatekeeper* gate,
                                       Clock* clock, CallTracker* tracker,
                                       ReplicationServiceOptions options)
    : source_(source),
      node_(node),
      gate_(gate),
      clock_(clock),
      tracker_(tracker),
      options_(options) {}

ReplicationService::ReplicationService(std::string why, ReplicationServiceOptions options)
    : source_(nullptr),
      node_(nullptr),
      gate_(nullptr),
      clock_(nullptr),
      tracker_(nullptr),
      options_(std::move(options)),
      not_an_upstream_(std::move(why)) {}

void ReplicationService::AddChain(grpc::CallbackServerContext* context) const {
  std::vector<std::string> chain;
  if (options_.chain) {
    chain = options_.chain();
  } else if (source_ != nullptr) {
    chain = source_->publisher()->chain();
  }
  if (!chain.empty()) {
    context->AddTrailingMetadata(replication::kChainMetadataKey, replication::FormatChain(chain));
  }
}

absl::Status ReplicationService::CanServe() const {
  if (source_ == nullptr) return absl::FailedPreconditionError(not_an_upstream_);
  return source_->CanServeDownstreams();
}

absl::Status ReplicationService::AdmitPeer(grpc::ServerContextBase* context, CallContext* call,
                                           std::string* identity) {
  *identity = CertificateIdentity(*context);
  absl::Status admitted = AdmitCall(context, gate_, call);
  if (gate_ == nullptr || !gate_->required()) return admitted;
  // A node of the cluster proves itself with a client certificate of the cluster CA (TLS has
  // verified it) or a token with the replicate scope.
  if (!identity->empty()) return absl::OkStatus();
  if (!admitted.ok()) return admitted;
  absl::Status s = call->principal->permissions.Check(auth::Action::kReplicate);
  if (!s.ok()) return gate_->Denied(std::move(s));
  *identity = absl::StrCat("token:", call->principal->subject);
  return absl::OkStatus();
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ReplicationService::Subscribe(
    grpc::CallbackServerContext* context) {
  CallContext call;
  std::string identity;
  using Reactor = grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>;
  absl::Status s = CanServe();
  // The chain (for loop detection) goes to peers only: a caller without credentials learns
  // nothing about the topology.
  if (!s.ok()) {
    AddChain(context);
    return new Refused<Reactor>(ToGrpcStatus(s));
  }
  s = AdmitPeer(context, &call, &identity);
  if (!s.ok()) return new Refused<Reactor>(ToGrpcStatus(s));
  return source_->publisher()->NewStream(context->peer(), identity);
}

grpc::ServerWriteReactor<kvstore::v1::SnapshotChunk>* ReplicationService::Snapshot(
    grpc::CallbackServerContext* context, const kvstore::v1::SnapshotRequest* request) {
  CallContext call;
  std::string identity;
  using Reactor = grpc::ServerWriteReactor<kvstore::v1::SnapshotChunk>;
  absl::Status s = CanServe();
  if (!s.ok()) {
    AddChain(context);
    return new Refused<Reactor>(ToGrpcStatus(s));
  }
  s = AdmitPeer(context, &call, &identity);
  if (!s.ok()) return new Refused<Reactor>(ToGrpcStatus(s));
  // Take a slot, or refuse: each snapshot holds memory until it ends.
  const int max = std::max(1, options_.max_concurrent_snapshots);
  if (snapshots_active_.fetch_add(1) >= max) {
    snapshots_active_.fetch_sub(1);
    snapshots_refused_.fetch_add(1);
    KV_LOG(INFO) << "snapshot for " << request->node_id() << " (" << context->peer()
                 << ") refused: " << max << " already in progress";
    return new Refused<grpc::ServerWriteReactor<kvstore::v1::SnapshotChunk>>(
        ToGrpcStatus(absl::ResourceExhaustedError(
            absl::StrCat("this node is already serving ", max,
                         " snapshots (--max-concurrent-snapshots); retry after a backoff"))));
  }
  snapshots_served_.fetch_add(1);
  VersionedStore* store = source_->store();
  return new SnapshotStream(store->NewSnapshotCursor(), clock_, options_.snapshot_chunk_bytes,
                            store->ApproximateKeyCount(),
                            request->node_id() + " (" + context->peer() + ")",
                            [this] { EndSnapshot(); });
}

void ReplicationService::EndSnapshot() {
  // The last one out gives the freed chunks back: without it glibc keeps most of what the
  // snapshots held (measured: docs/faults.md, "Snapshot memory").
  if (snapshots_active_.fetch_sub(1) == 1) malloc_trim(0);
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
  if (!done) return reactor;
  CallContext call;
  std::string identity;
  if (absl::Status s = AdmitPeer(context, &call, &identity); !s.ok()) {
    std::move(done)(s);
    return reactor;
  }
  // A replication peer may fetch any key, the reserved ones included (the node role answers
  // without the KV API's scope checks).
  node_->Fetch(*request, response, call, std::move(done));
  return reactor;
}

}  // namespace kv::server

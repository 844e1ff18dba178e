#include "replication/subscriber.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "replication/chain.h"
#include "replication/cluster_change.h"
#include "replication/stream_receiver.h"

namespace kv::replication {

using kvstore::v1::Change;

const char* Subscriber::StateName(State state) {
  switch (state) {
    case State::kWaiting:
      return "waiting";
    case State::kSnapshotting:
      return "snapshotting";
    case State::kStreaming:
      return "streaming";
    case State::kBackoff:
      return "backoff";
    case State::kStopped:
      return "stopped";
  }
  return "?";
}

Subscriber::Subscriber(kvstore::v1::Replication::Stub* upstream, std::string upstream_address,
                       ChangeApplier* applier, SnapshotTarget* snapshots,
                       FreshnessTracker* freshness, Clock* clock, SubscriberOptions options)
    : Subscriber(upstream, std::move(upstream_address), applier, snapshots, nullptr, freshness,
                 clock, std::move(options)) {}

Subscriber::Subscriber(kvstore::v1::Replication::Stub* upstream, std::string upstream_address,
                       ChangeApplier* applier, HeadFollower* head, FreshnessTracker* freshness,
                       Clock* clock, SubscriberOptions options)
    : Subscriber(upstream, std::move(upstream_address), applier, nullptr, head, freshness, clock,
                 std::move(options)) {}

Subscriber::Subscriber(kvstore::v1::Replication::Stub* upstream, std::string upstream_address,
                       ChangeApplier* applier, SnapshotTarget* snapshots, HeadFollower* head,
                       FreshnessTracker* freshness, Clock* clock, SubscriberOptions options)
    : upstream_(upstream),
      upstream_address_(std::move(upstream_address)),
      applier_(applier),
      snapshot_target_(snapshots),
      head_(head),
      freshness_(freshness),
      clock_(clock),
      options_(std::move(options)),
      rng_(std::random_device{}()) {}

Subscriber::~Subscriber() { Stop(); }

void Subscriber::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Subscriber::Stop() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
  SetState(State::kStopped);
}

Subscriber::State Subscriber::state() const {
  absl::MutexLock l(&mu_);
  return state_;
}

bool Subscriber::connected() const { return connected_.load(); }

void Subscriber::SetState(State state) {
  absl::MutexLock l(&mu_);
  state_ = state;
}

void Subscriber::SetError(const absl::Status& status) {
  absl::MutexLock l(&mu_);
  last_error_ = status.ToString();
}

std::string Subscriber::last_error() const {
  absl::MutexLock l(&mu_);
  return last_error_;
}

bool Subscriber::SleepUnlessStopped(absl::Duration d) {
  absl::MutexLock l(&mu_);
  auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
  mu_.AwaitWithTimeout(absl::Condition(&stopped), d);
  return !stop_;
}

void Subscriber::FillStatus(kvstore::v1::ReplicationStatus* status) const {
  status->set_upstream(upstream_address_);
  status->set_connected(connected_.load());
  status->set_state(StateName(state()));
  status->set_snapshots(snapshots_.load());
  status->set_resumes(resumes_.load());
  status->set_resets(resets_.load());
  status->set_reconnects(reconnects_.load());
  status->set_changes_applied(changes_applied_.load());
  status->set_batches_applied(batches_applied_.load());
  absl::MutexLock l(&mu_);
  status->set_last_error(last_error_);
}

void Subscriber::Run() {
  absl::Duration backoff = options_.initial_backoff;
  bool logged_waiting = false;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (stop_) return;
    }
    bool progressed = false;
    absl::Status status = RunOnce(&progressed);
    connected_.store(false);
    {
      absl::MutexLock l(&mu_);
      if (stop_) return;
    }
    SetError(status);
    if (progressed) {
      backoff = options_.initial_backoff;
      logged_waiting = false;
    }
    if (!logged_waiting || progressed) {
      KV_LOG(WARN) << "replication from " << upstream_address_ << " interrupted: " << status
                   << "; retrying with backoff";
      logged_waiting = true;
    } else {
      KV_LOG(DEBUG) << "still waiting for upstream " << upstream_address_ << ": " << status;
    }
    SetState(State::kBackoff);
    // Jitter in [0.5, 1.5) x backoff so edges that lost the same upstream do not return in step.
    double jitter = std::uniform_real_distribution<double>(0.5, 1.5)(rng_);
    if (!SleepUnlessStopped(backoff * jitter)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
    reconnects_.fetch_add(1);
  }
}

absl::Status Subscriber::RunOnce(bool* progressed) {
  SetState(State::kWaiting);
  bool bootstrap = false;
  {
    absl::MutexLock l(&mu_);
    bootstrap = force_bootstrap_;
  }
  bool snapshotted = false;
  if (snapshot_target_ != nullptr && (bootstrap || snapshot_target_->NeedsBootstrap())) {
    SetState(State::kSnapshotting);
    absl::Status s = TakeSnapshot();
    if (!s.ok()) return s;
    *progressed = true;
    snapshotted = true;
    absl::MutexLock l(&mu_);
    force_bootstrap_ = false;
  }
  return Stream(progressed, snapshotted);
}

absl::Status Subscriber::TakeSnapshot() {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.snapshot_timeout));
  AddAuthorization(&ctx);
  {
    absl::MutexLock l(&mu_);
    if (stop_) return absl::CancelledError("stopping");
    active_ = &ctx;
  }
  auto clear_active = [this] {
    absl::MutexLock l(&mu_);
    active_ = nullptr;
  };
  kvstore::v1::SnapshotRequest request;
  request.set_node_id(options_.node_id);
  auto reader = upstream_->Snapshot(&ctx, request);
  kvstore::v1::SnapshotChunk chunk;
  bool begun = false, saw_last = false;
  uint64_t version = 0, keys = 0;
  std::string cluster_id, history_id;
  absl::Time last_progress = absl::Now();
  while (reader->Read(&chunk)) {
    if (!begun) {
      // Checked before anything is wiped: an interrupted snapshot keeps its cluster id too.
      if (auto s = CheckClusterChange(applier_->cluster_id(), chunk.cluster_id(), upstream_address_,
                                      options_.allow_cluster_change);
          !s.ok()) {
        ctx.TryCancel();
        reader->Finish();
        clear_active();
        return s;
      }
      KV_LOG(INFO) << "taking a snapshot from " << upstream_address_ << " at version "
                   << chunk.version() << " (" << chunk.total_keys() << " keys, estimated)";
      // From here the local store holds a mix of two histories: it proves nothing until the
      // snapshot completes, so reads must not be served from it as fresh.
      freshness_->Forget();
      if (auto s = snapshot_target_->BeginSnapshot(); !s.ok()) {
        ctx.TryCancel();
        reader->Finish();
        clear_active();
        return s;
      }
      begun = true;
      version = chunk.version();
      cluster_id = chunk.cluster_id();
      history_id = chunk.history_id();
    }
    if (chunk.version() != version || chunk.history_id() != history_id) {
      ctx.TryCancel();
      reader->Finish();
      clear_active();
      return absl::DataLossError("snapshot chunks disagree on their version or history");
    }
    if (auto s = snapshot_target_->ApplySnapshotChunk(chunk); !s.ok()) {
      ctx.TryCancel();
      reader->Finish();
      clear_active();
      return s;
    }
    keys += chunk.entries_size() + chunk.missing_values_size();
    saw_last = chunk.last();
    if (absl::Now() - last_progress > absl::Seconds(2)) {
      KV_LOG(INFO) << "snapshot progress: " << keys << " of ~" << chunk.total_keys() << " keys";
      last_progress = absl::Now();
    }
  }
  grpc::Status status = reader->Finish();
  clear_active();
  if (!status.ok()) {
    return LearnChainFromRefusal(ctx,
                                 absl::Status(FromGrpcStatus(status).code(),
                                              absl::StrCat("snapshot from ", upstream_address_,
                                                           " failed: ", status.error_message())));
  }
  if (!begun || !saw_last) return absl::DataLossError("snapshot ended without its last chunk");
  // Before the finish, while the unfinished snapshot's marker still covers the data.
  if (auto s = applier_->SetHistoryId(history_id); !s.ok()) return s;
  if (auto s = snapshot_target_->FinishSnapshot(version, cluster_id); !s.ok()) return s;
  snapshots_.fetch_add(1);
  freshness_->DropPending();
  if (options_.on_applied) options_.on_applied(version);
  KV_LOG(INFO) << "snapshot complete: " << keys << " keys at version " << version;
  return absl::OkStatus();
}

void Subscriber::AddAuthorization(grpc::ClientContext* ctx) const {
  if (!options_.authorization) return;
  std::string value = options_.authorization();
  if (!value.empty()) ctx->AddMetadata("authorization", value);
}

absl::Status Subscriber::Stream(bool* progressed, bool after_snapshot) {
  grpc::ClientContext ctx;
  AddAuthorization(&ctx);
  bool from_head = false;
  {
    absl::MutexLock l(&mu_);
    if (stop_) return absl::CancelledError("stopping");
    active_ = &ctx;
    from_head = from_head_ || (head_ != nullptr && applier_->cluster_id().empty());
  }
  auto stream = upstream_->Subscribe(&ctx);

  uint64_t from = from_head ? 0 : applier_->applied_version() + 1;
  kvstore::v1::DownstreamMessage hello;
  hello.mutable_hello()->set_from_version(from);
  hello.mutable_hello()->set_node_id(options_.node_id);
  hello.mutable_hello()->set_address(options_.advertised_address);
  hello.mutable_hello()->set_mode(snapshot_target_ != nullptr ? "full" : "cache");
  // Starting over from the head, the old history does not matter (and must not cause a RESET).
  if (!from_head) hello.mutable_hello()->set_cluster_id(applier_->cluster_id());
  if (!from_head) hello.mutable_hello()->set_history_id(applier_->history_id());
  hello.mutable_hello()->set_standby(options_.standby);

  // The pinger and (for a standby) the reader's acknowledgements both write to the stream.
  absl::Mutex write_mu;
  auto write = [&](const kvstore::v1::DownstreamMessage& m) {
    absl::MutexLock l(&write_mu);
    return stream->Write(m);
  };
  absl::Mutex ping_mu;
  bool ping_stop = false;
  // Until the stream has started, this node's applied version may be another history's: pings
  // acknowledge nothing (0).
  std::atomic<bool> started{false};
  std::thread pinger;
  absl::Status result = absl::OkStatus();
  if (stream->Write(hello)) {
    pinger = std::thread([&] {
      for (;;) {
        {
          absl::MutexLock l(&ping_mu);
          auto stopped = [&ping_stop]() { return ping_stop; };
          ping_mu.AwaitWithTimeout(absl::Condition(&stopped), options_.ping_interval);
          if (ping_stop) return;
        }
        kvstore::v1::DownstreamMessage ping;
        ping.mutable_ping()->set_t0_micros(freshness_->PingTime());
        ping.mutable_ping()->set_applied_version(started.load() ? applier_->applied_version() : 0);
        if (!write(ping)) return;
      }
    });

    StreamReceiver receiver(applier_, head_, freshness_, from, options_.on_applied,
                            options_.node_id);
    kvstore::v1::UpstreamMessage msg;
    uint64_t changes_before = 0;
    while (stream->Read(&msg)) {
      bool was_started = receiver.started();
      const uint64_t committed = msg.committed_version();
      const uint64_t applied_before = receiver.changes_applied();
      absl::Status handled = receiver.Handle(&msg);
      if (handled.ok() && options_.standby && receiver.started()) {
        if (receiver.changes_applied() > applied_before) {
          // The leader waits for this acknowledgement before it answers its writers.
          kvstore::v1::DownstreamMessage ack;
          ack.mutable_ping()->set_t0_micros(freshness_->PingTime());
          ack.mutable_ping()->set_applied_version(applier_->applied_version());
          if (!write(ack)) handled = absl::UnavailableError("cannot acknowledge to the leader");
        }
        if (handled.ok() && committed != 0) {
          handled = applier_->OnCommitted(committed);
          freshness_->OnApplied(applier_->visible_version());
        }
      }
      if (!was_started && receiver.started()) {
        started.store(true);
        LearnChain(std::vector<std::string>(receiver.start().chain().begin(),
                                            receiver.start().chain().end()));
        connected_.store(true);
        SetState(State::kStreaming);
        if (receiver.resumed() && !after_snapshot) resumes_.fetch_add(1);
        KV_LOG(INFO) << "streaming from " << upstream_address_ << " (" << receiver.start().node_id()
                     << ", head " << receiver.start().head_version() << ") after version "
                     << applier_->applied_version();
      }
      if (receiver.changes_applied() > changes_before) {
        changes_applied_.fetch_add(receiver.changes_applied() - changes_before);
        batches_applied_.fetch_add(1);
        changes_before = receiver.changes_applied();
        *progressed = true;
      }
      if (handled.ok()) continue;
      result = handled;
      if (handled.code() == absl::StatusCode::kAborted) {
        // Beginning again from another cluster would replace this node's data with it.
        if (auto refused = CheckClusterChange(applier_->cluster_id(), receiver.reset().cluster_id(),
                                              upstream_address_, options_.allow_cluster_change);
            !refused.ok()) {
          result = refused;
          break;
        }
        resets_.fetch_add(1);
        KV_LOG(WARN) << "upstream " << upstream_address_
                     << " answered RESET: " << receiver.reset().reason();
        absl::MutexLock l(&mu_);
        if (snapshot_target_ != nullptr) {
          force_bootstrap_ = true;
        } else {
          from_head_ = true;
        }
      } else {
        if (handled.code() == absl::StatusCode::kDataLoss) gaps_.fetch_add(1);
        KV_LOG(ERROR) << "replication stream from " << upstream_address_ << ": " << handled
                      << "; resubscribing";
      }
      break;
    }
    if (receiver.started() && from == 0) {
      absl::MutexLock l(&mu_);
      from_head_ = false;
    }
  } else {
    result = absl::UnavailableError("cannot open the stream");
  }
  ctx.TryCancel();
  {
    absl::MutexLock l(&ping_mu);
    ping_stop = true;
  }
  if (pinger.joinable()) pinger.join();
  grpc::Status finished = stream->Finish();
  {
    absl::MutexLock l(&mu_);
    active_ = nullptr;
  }
  if (result.ok()) {
    result = finished.ok() ? absl::UnavailableError("the upstream ended the stream")
                           : LearnChainFromRefusal(
                                 ctx, absl::Status(FromGrpcStatus(finished).code(),
                                                   absl::StrCat("stream from ", upstream_address_,
                                                                ": ", finished.error_message())));
  }
  return result;
}

void Subscriber::LearnChain(const std::vector<std::string>& upstream_chain) {
  if (options_.on_chain) options_.on_chain(upstream_chain);
}

absl::Status Subscriber::LearnChainFromRefusal(const grpc::ClientContext& ctx,
                                               absl::Status status) {
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find(kChainMetadataKey);
  if (it == trailers.end()) return status;
  std::vector<std::string> chain =
      ParseChain(absl::string_view(it->second.data(), it->second.size()));
  LearnChain(chain);
  if (absl::Status cycle = CheckNoCycle(options_.node_id, chain); !cycle.ok()) return cycle;
  return status;
}

}  // namespace kv::replication

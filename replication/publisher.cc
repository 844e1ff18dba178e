#include "replication/publisher.h"

#include <pthread.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/reserved_keys.h"
#include "replication/chain.h"
#include "replication/change_parts.h"
#include "replication/checksum.h"
#include "replication/subscribe_stream.h"

namespace kv::replication {

using kvstore::v1::Change;

namespace {
// Pongs one session holds while its changes are not sent (OnPing).
constexpr size_t kMaxPendingPongs = 64;

uint64_t ChangeBytes(const Change& change) {
  uint64_t bytes = 48;
  ForEachKeyChange(change, [&bytes](const Change& c, uint64_t) {
    bytes += c.key().size() + c.value().size() + c.metadata().size() + 16;
  });
  return bytes;
}
}  // namespace

Publisher::Publisher(ChangeLog* log, Clock* clock, PublisherOptions options, std::string cluster_id,
                     uint64_t head_version, std::function<int64_t()> staleness_micros)
    : log_(log),
      clock_(clock),
      options_(std::move(options)),
      staleness_micros_(std::move(staleness_micros)),
      cluster_id_(std::move(cluster_id)),
      head_(head_version),
      committed_(head_version),
      tail_start_(head_version + 1) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "kv-publisher");  // for top -H, perf and bench/fanout.sh
    Run();
  });
}

Publisher::~Publisher() {
  FinishAll();
  Stop();
}

uint64_t Publisher::head() const {
  absl::MutexLock l(&mu_);
  return head_;
}

void Publisher::SetHistoryId(std::string history_id) {
  absl::MutexLock l(&mu_);
  history_id_ = std::move(history_id);
}

std::string Publisher::history_id() const {
  absl::MutexLock l(&mu_);
  return history_id_;
}

void Publisher::Append(const std::vector<std::shared_ptr<const Change>>& changes) {
  if (changes.empty()) return;
  InlineWrites writes;
  {
    absl::MutexLock l(&mu_);
    AddToTail(changes);
    committed_ = head_;
    TrimTail();
    CollectInlineWrites(&writes);
  }
  StartInlineWrites(writes);
}

void Publisher::Propose(const std::vector<std::shared_ptr<const Change>>& changes) {
  if (changes.empty()) return;
  InlineWrites writes;
  {
    absl::MutexLock l(&mu_);
    AddToTail(changes);
    TrimTail();
    CollectInlineWrites(&writes);
  }
  StartInlineWrites(writes);
}

void Publisher::Commit(uint64_t version) {
  InlineWrites writes;
  {
    absl::MutexLock l(&mu_);
    committed_ = std::min(std::max(committed_, version), head_);
    CollectInlineWrites(&writes);
  }
  StartInlineWrites(writes);
}

void Publisher::DropProposed(uint64_t store_head) {
  absl::MutexLock l(&mu_);
  if (store_head > committed_) {
    tail_.clear();
    tail_bytes_ = 0;
    committed_ = store_head;
  }
  while (head_ > committed_ && !tail_.empty()) {
    tail_bytes_ -= ChangeBytes(*tail_.back().change);
    tail_.pop_back();
    --head_;
  }
  head_ = committed_;
  if (tail_.empty()) tail_start_ = head_ + 1;
  for (auto& [stream, session] : sessions_) {
    if (session->standby) {
      EndSession(session.get(),
                 grpc::Status(grpc::StatusCode::UNAVAILABLE, "this node is no longer the leader"));
    }
  }
  kick_ = true;
}

uint64_t Publisher::committed() const {
  absl::MutexLock l(&mu_);
  return committed_;
}

void Publisher::SetStandbyObserver(std::function<void(const StandbyAck&)> observer) {
  absl::MutexLock l(&mu_);
  standby_observer_ = std::move(observer);
}

void Publisher::SetEpoch(uint64_t epoch) {
  absl::MutexLock l(&mu_);
  epoch_ = epoch;
}

void Publisher::NotifyStandby(const StandbyAck& ack) {
  std::function<void(const StandbyAck&)> observer;
  {
    absl::MutexLock l(&mu_);
    observer = standby_observer_;
  }
  if (observer) observer(ack);
}

void Publisher::AddToTail(const std::vector<std::shared_ptr<const Change>>& changes) {
  int64_t now = clock_->MonotonicMicros();
  for (const auto& change : changes) {
    if (change->version() != head_ + 1) {
      // Never expected; a hole in the tail would send a gap, so start the tail over instead
      // (subscribers behind it catch up from the log).
      KV_LOG(ERROR) << "publisher: change " << change->version() << " after head " << head_
                    << "; restarting the tail";
      tail_.clear();
      tail_bytes_ = 0;
      tail_start_ = change->version();
    }
    tail_.push_back(TailEntry{change, now, grpc::Slice()});
    tail_bytes_ += ChangeBytes(*change);
    head_ = change->version();
  }
  // No kick_: HasWork sees the new head for every session that can send now, and a session
  // with a message in flight would only make the thread wake up for nothing.
}

void Publisher::TrimTail() {
  // Proposed changes (beyond committed_) stay: they are not in the change log yet, and a standby
  // can only get them from here.
  while (!tail_.empty() && tail_start_ <= committed_ &&
         (tail_.size() > options_.tail_changes || tail_bytes_ > options_.tail_bytes)) {
    tail_bytes_ -= ChangeBytes(*tail_.front().change) + tail_.front().encoded.size();
    tail_.pop_front();
    ++tail_start_;
  }
}

void Publisher::Rebase(std::string cluster_id, uint64_t head_version) {
  absl::MutexLock l(&mu_);
  cluster_id_ = std::move(cluster_id);
  head_ = head_version;
  committed_ = head_version;
  tail_.clear();
  tail_bytes_ = 0;
  tail_start_ = head_version + 1;
  for (auto& [stream, session] : sessions_) {
    RequestReset(session.get(), "the upstream re-bootstrapped from a snapshot");
  }
  kick_ = true;
}

SubscribeStream* Publisher::NewStream(const std::string& peer, const std::string& identity) {
  auto* stream = new SubscribeStream(this);
  {
    absl::MutexLock l(&mu_);
    auto session = std::make_unique<Session>();
    session->stream = stream;
    session->peer = peer;
    session->identity = identity;
    session->connected_micros = clock_->MonotonicMicros();
    session->serial = ++next_serial_;
    if (closing_) {
      session->finish_requested = true;
      session->finish_status =
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "the upstream is shutting down");
    }
    sessions_[stream] = std::move(session);
  }
  // Reads start outside the lock (a read callback takes it), and no Finish may be issued before
  // the read has started: the session counts as begun only after this.
  stream->Begin();
  absl::MutexLock l(&mu_);
  if (auto it = sessions_.find(stream); it != sessions_.end()) it->second->began = true;
  kick_ = true;
  return stream;
}

void Publisher::SetUpstreamChain(std::vector<std::string> upstream_chain) {
  absl::MutexLock l(&mu_);
  if (upstream_chain.size() >= kMaxChainLength) upstream_chain.resize(kMaxChainLength - 1);
  upstream_chain_ = std::move(upstream_chain);
}

std::vector<std::string> Publisher::chain() const {
  absl::MutexLock l(&mu_);
  std::vector<std::string> out = {options_.node_id};
  out.insert(out.end(), upstream_chain_.begin(), upstream_chain_.end());
  return out;
}

void Publisher::EndSession(Session* s, grpc::Status status) {
  if (s->finish_requested) return;
  s->finish_requested = true;
  s->finish_status = std::move(status);
  kick_ = true;
}

void Publisher::OnHello(SubscribeStream* stream, const kvstore::v1::SubscribeHello& hello) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(stream);
  if (it == sessions_.end()) return;
  Session* s = it->second.get();
  // What a downstream says about itself ends up in logs, Status and metric labels: bounded.
  absl::Status valid = ValidNodeId(hello.node_id());
  if (valid.ok() && hello.mode() != "full" && hello.mode() != "cache") {
    valid = absl::InvalidArgumentError("mode must be full or cache");
  }
  if (valid.ok() && hello.address().size() > 256) {
    valid = absl::InvalidArgumentError("the advertised address is longer than 256 bytes");
  }
  if (valid.ok() && hello.node_id() == options_.node_id) {
    valid = absl::FailedPreconditionError(absl::StrCat(
        "node ", options_.node_id, " cannot be its own downstream (is its --upstream itself?)"));
  }
  if (!valid.ok()) {
    KV_LOG(WARN) << "refusing a downstream from " << s->peer << ": " << valid.message();
    EndSession(s, grpc::Status(static_cast<grpc::StatusCode>(valid.code()),
                               absl::StrCat("bad hello: ", valid.message())));
    return;
  }
  // One session per node id: a reconnecting edge replaces its old stream (which may linger
  // until keepalive notices it); two live nodes with one id would make Status lie.
  for (auto& [other_stream, other] : sessions_) {
    if (other.get() != s && other->hello_done && other->node_id == hello.node_id()) {
      KV_LOG(WARN) << "downstream " << hello.node_id() << " from " << s->peer
                   << " replaces its stream from " << other->peer;
      EndSession(other.get(), grpc::Status(grpc::StatusCode::ABORTED,
                                           "replaced by a newer stream from the same node id"));
    }
  }
  s->node_id = hello.node_id();
  s->address = hello.address();
  s->mode = hello.mode();
  s->standby = hello.standby();
  s->hello_done = true;
  s->start_pending = true;
  s->from_head = hello.from_version() == 0;
  s->cursor = s->from_head ? Limit(*s) + 1 : hello.from_version();
  s->acked = s->cursor - 1;
  if (!hello.cluster_id().empty() && hello.cluster_id() != cluster_id_) {
    RequestReset(s, absl::StrCat("the downstream's data is from cluster ", hello.cluster_id(),
                                 ", this upstream serves cluster ", cluster_id_));
  } else if (!s->from_head && !hello.history_id().empty() && !history_id_.empty() &&
             hello.history_id() != history_id_) {
    // Same cluster, another sequence of writes (the central node was restored from a backup,
    // or this relay re-bootstrapped): the downstream's versions name other writes than ours.
    RequestReset(s, absl::StrCat("the downstream's data is from history ", hello.history_id(),
                                 ", this upstream serves history ", history_id_,
                                 " (the central node was restored from a backup?)"));
  } else if (s->cursor < log_->oldest() && s->cursor <= head_) {
    RequestReset(
        s, absl::StrCat("version ", s->cursor,
                        " is no longer in the change log (oldest retained: ", log_->oldest(), ")"));
  } else if (s->cursor > Limit(*s) + 1 && !hello.history_id().empty() &&
             hello.history_id() == history_id_) {
    // Same history, only further along: this node has not caught up yet (a standby central node
    // the downstream failed over to, a relay that restarted). Its versions will come; a RESET
    // would throw away good data. The downstream retries.
    EndSession(s, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               absl::StrCat("the downstream is at version ", s->cursor - 1,
                                            ", ahead of this node's ", Limit(*s),
                                            " in the same history; retry")));
    return;
  } else if (s->cursor > Limit(*s) + 1) {
    // The downstream holds versions this upstream never had: it was restored from an older
    // backup (or a relay lost writes). Its extra versions name other changes; start it over.
    RequestReset(s, absl::StrCat("the downstream is at version ", s->cursor - 1,
                                 ", ahead of this upstream's head ", Limit(*s),
                                 " (restored from an older backup?)"));
  }
  KV_LOG(INFO) << "downstream " << s->node_id << " (" << s->peer << ", " << s->mode
               << ") subscribed from version " << s->cursor
               << (s->reset_pending ? ": RESET, " + s->reset.reason() : "");
  kick_ = true;
}

void Publisher::OnPing(SubscribeStream* stream, const kvstore::v1::Ping& ping) {
  StandbyAck ack;
  {
    absl::MutexLock l(&mu_);
    auto it = sessions_.find(stream);
    if (it == sessions_.end()) return;
    if (!HandlePing(it->second.get(), ping)) return;
    ack = StandbyAck{it->second->node_id, it->second->acked, true, it->second->serial};
  }
  NotifyStandby(ack);
}

bool Publisher::HandlePing(Session* s, const kvstore::v1::Ping& ping) {
  // 0: the downstream has not started this stream yet. Anything above what was sent is a lie
  // (it would show as false lag); the stream ends.
  if (ping.applied_version() > s->cursor - 1 && !s->reset_pending && s->hello_done &&
      !s->start_pending) {
    KV_LOG(WARN) << "downstream " << s->node_id << " (" << s->peer << ") acknowledged version "
                 << ping.applied_version() << ", but only up to " << s->cursor - 1
                 << " was sent; ending its stream";
    EndSession(s, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                               absl::StrCat("acknowledged version ", ping.applied_version(),
                                            " was never sent (sent up to ", s->cursor - 1, ")")));
    return false;
  }
  s->acked = std::max(s->acked, ping.applied_version());
  kvstore::v1::Pong pong;
  pong.set_t0_micros(ping.t0_micros());
  // Staleness first, then the head: everything this node held at (now - staleness) was
  // appended here before its freshness advanced, so this head covers it.
  pong.set_upstream_staleness_micros(staleness_micros_ ? staleness_micros_() : 0);
  // Committed only, also to a standby: its freshness is that of what it lets readers see. And
  // no less than what readers here can see already, though it may not have been appended yet
  // (PublisherOptions::readable_head): the pong waits for it.
  pong.set_head_version(
      std::max(committed_, options_.readable_head ? options_.readable_head() : uint64_t{0}));
  // Pongs wait for the changes up to their head to be sent; a stream that does not drain must
  // not make them pile up. A newer pong with the same head that proves at least as much
  // replaces the last one; beyond the cap the oldest goes (the downstream's freshness then
  // advances with a newer one, later: never wrongly).
  auto proves = [](const kvstore::v1::Pong& p) {
    return p.t0_micros() - p.upstream_staleness_micros();
  };
  if (!s->pongs.empty() && s->pongs.back().head_version() == pong.head_version() &&
      proves(pong) >= proves(s->pongs.back())) {
    s->pongs.back() = std::move(pong);
  } else {
    s->pongs.push_back(std::move(pong));
    if (s->pongs.size() > kMaxPendingPongs) s->pongs.pop_front();
  }
  kick_ = true;
  return s->standby;
}

void Publisher::OnWriteDone(SubscribeStream* stream, bool ok) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(stream);
  if (it == sessions_.end()) return;
  Session* s = it->second.get();
  s->in_flight = false;
  if (!ok && !s->finish_requested) {
    s->finish_requested = true;
    s->finish_status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "write to downstream failed");
  }
  // No kick: the publisher thread waits on HasWork, which the unlock evaluates, so it wakes
  // only if this stream has more to send. (Waking it after every write, to find nothing to do,
  // cost one thread hop and one scan of every session per message.)
}

void Publisher::OnClosing(SubscribeStream* stream, grpc::Status status) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(stream);
  if (it == sessions_.end()) return;
  Session* s = it->second.get();
  if (!s->finish_requested) {
    s->finish_requested = true;
    s->finish_status = std::move(status);
  }
  kick_ = true;
}

void Publisher::OnDone(SubscribeStream* stream) {
  std::optional<StandbyAck> gone;
  {
    absl::MutexLock l(&mu_);
    auto it = sessions_.find(stream);
    if (it == sessions_.end()) return;
    KV_LOG(INFO) << "downstream " << it->second->node_id << " (" << it->second->peer
                 << ") disconnected at version " << it->second->acked;
    if (it->second->standby) {
      gone = StandbyAck{it->second->node_id, it->second->acked, false, it->second->serial};
    }
    sessions_.erase(it);
    kick_ = true;
  }
  if (gone) NotifyStandby(*gone);
}

void Publisher::RequestReset(Session* s, const std::string& reason) {
  s->reset_pending = true;
  s->reset.set_oldest_version(log_->oldest());
  s->reset.set_head_version(head_);
  s->reset.set_reason(reason);
  s->reset.set_cluster_id(cluster_id_);
  s->reset.set_history_id(history_id_);
  ++resets_sent_;
}

void Publisher::FinishAll() {
  absl::MutexLock l(&mu_);
  closing_ = true;
  for (auto& [stream, s] : sessions_) {
    if (!s->finish_requested) {
      s->finish_requested = true;
      s->finish_status =
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "the upstream is shutting down");
    }
  }
  kick_ = true;
}

void Publisher::Stop() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool Publisher::SessionHasWork(const Session& s) const {
  if (!s.began || s.finished || s.in_flight) return false;
  if (s.finish_requested || s.start_pending || s.reset_pending) return true;
  if (!s.hello_done) return false;
  if (s.standby && s.sent_committed < committed_) return true;
  return s.cursor <= Limit(s) || (!s.pongs.empty() && s.pongs.front().head_version() < s.cursor);
}

bool Publisher::HasWork() const {
  if (stop_ || kick_) return true;
  for (const auto& [stream, s] : sessions_) {
    if (SessionHasWork(*s)) return true;
  }
  return false;
}

void Publisher::AddChange(const Change& change, Change* c) const {
  if (change.kind() != Change::KIND_COMMIT) return AddKeyChange(change, c);
  // A commit travels as one change; each of its parts follows the rule for a single change.
  c->set_version(change.version());
  c->set_kind(Change::KIND_COMMIT);
  c->set_commit_unix_micros(change.commit_unix_micros());
  if (change.has_checksum()) c->set_checksum(change.checksum());
  c->mutable_parts()->Reserve(change.parts_size());
  for (const Change& part : change.parts()) AddKeyChange(part, c->add_parts());
}

bool Publisher::TravelsWhole(const Change& change) const {
  bool whole = true;
  ForEachKeyChange(change, [&](const Change& c, uint64_t) {
    if (c.kind() == Change::KIND_PUT && c.value().size() > options_.push_value_limit &&
        !IsReservedKey(c.key())) {
      whole = false;
    }
  });
  return whole;
}

grpc::Slice Publisher::EncodeAsSent(const Change& change) const {
  if (TravelsWhole(change)) return EncodeChange(change);
  Change sent;
  AddChange(change, &sent);
  return EncodeChange(sent);
}

void Publisher::AddKeyChange(const Change& change, Change* c) const {
  // Cluster data (the key set) always travels whole: a node needs it to check tokens even while
  // its upstream is unreachable.
  if (change.kind() == Change::KIND_PUT && change.value().size() > options_.push_value_limit &&
      !IsReservedKey(change.key())) {
    c->set_version(change.version());
    c->set_kind(Change::KIND_INVALIDATE);
    c->set_key(change.key());
    c->set_metadata(change.metadata());
    c->set_expiration(change.expiration());
    c->set_value_size(change.value().size());
    c->set_commit_unix_micros(change.commit_unix_micros());
    // Without the value, the downstream counts the record in its checksum through its hash.
    if (change.has_checksum()) c->set_checksum(change.checksum());
    c->set_value_hash(ValueHash(change.value()));
  } else {
    *c = change;
  }
}

const grpc::Slice& Publisher::Encoded(TailEntry* entry) {
  if (entry->encoded.size() == 0) {
    entry->encoded = EncodeAsSent(*entry->change);
    tail_bytes_ += entry->encoded.size();
  }
  return entry->encoded;
}

bool Publisher::FillFromTail(Session* s) {
  if (s->cursor < tail_start_) return false;
  size_t bytes = 0;
  size_t n = 0;
  while (s->cursor <= Limit(*s) && n < options_.max_batch_changes) {
    TailEntry& entry = tail_[s->cursor - tail_start_];
    const Change& change = *entry.change;
    // Close the batch before a change that would take it past the budget, not after: one
    // maximal value must not push a message over the gRPC limit.
    const size_t change_bytes = ChangeBytes(change);
    if (n > 0 && bytes + change_bytes > options_.max_batch_bytes) break;
    s->outgoing.AddChange(Encoded(&entry));
    bytes += change_bytes;
    ++n;
    ++s->cursor;
  }
  return true;
}

namespace {
// Moves the newest pong the session may send (all changes up to its head already sent) into
// the outgoing message; older eligible pongs are superseded by it.
void AttachPong(std::deque<kvstore::v1::Pong>* pongs, uint64_t cursor, StreamMessage* out) {
  while (!pongs->empty() && pongs->front().head_version() < cursor) {
    *out->fields()->mutable_pong() = std::move(pongs->front());
    pongs->pop_front();
  }
}
}  // namespace

Publisher::Step Publisher::NextStep(Session* s) {
  if (s->finish_requested && !s->reset_pending && !s->start_pending) {
    s->in_flight = true;
    s->finished = true;
    return Step::kFinish;
  }
  if (s->finish_requested && s->finish_status.error_code() != grpc::StatusCode::OK) {
    // Cancelled or broken: no point sending the start or the reset.
    s->in_flight = true;
    s->finished = true;
    return Step::kFinish;
  }
  s->outgoing.Clear();
  if (s->start_pending) {
    auto* start = s->outgoing.fields()->mutable_start();
    start->set_cluster_id(cluster_id_);
    start->set_history_id(history_id_);
    start->set_head_version(s->from_head ? s->cursor - 1 : Limit(*s));
    start->set_epoch(epoch_);
    start->set_oldest_version(log_->oldest());
    start->set_node_id(options_.node_id);
    start->add_chain(options_.node_id);
    for (const std::string& id : upstream_chain_) start->add_chain(id);
    s->start_pending = false;
  }
  if (s->reset_pending) {
    s->outgoing.fields()->clear_start();
    *s->outgoing.fields()->mutable_reset() = s->reset;
    s->reset_pending = false;
    s->finish_requested = true;
    s->finish_status = grpc::Status::OK;
    s->in_flight = true;
    return Step::kWrite;
  }
  if (s->hello_done && s->cursor <= Limit(*s) && !FillFromTail(s)) {
    s->in_flight = true;
    return Step::kReadLog;
  }
  AttachPong(&s->pongs, s->cursor, &s->outgoing);
  // Every message to a standby says what is committed: one that catches up in several
  // messages learns it for the changes of each.
  if (s->standby && (!s->outgoing.empty() || s->sent_committed < committed_)) {
    s->outgoing.fields()->set_committed_version(committed_);
    s->sent_committed = committed_;
  }
  if (s->outgoing.empty()) return Step::kNone;
  s->in_flight = true;
  return Step::kWrite;
}

bool Publisher::SendsFromTail(const Session& s) const {
  return SessionHasWork(s) && s.hello_done && !s.finish_requested && !s.start_pending &&
         !s.reset_pending && (s.cursor > Limit(s) || s.cursor >= tail_start_);
}

void Publisher::CollectInlineWrites(InlineWrites* writes) {
  size_t ready = 0;
  for (const auto& [stream, s] : sessions_) {
    if (!SendsFromTail(*s)) continue;
    // More streams than that are the publisher thread's: on the caller's thread (the commit
    // thread) each send delays the next group commit.
    if (++ready > options_.max_inline_sends) return;
  }
  for (auto& [stream, s] : sessions_) {
    // SendsFromTail rules out kFinish and kReadLog (a pending finish, a cursor behind the tail),
    // the publisher thread's steps; kNone leaves the session as it was.
    if (SendsFromTail(*s) && NextStep(s.get()) == Step::kWrite) {
      writes->emplace_back(stream, s.get());
    }
  }
}

void Publisher::StartInlineWrites(const InlineWrites& writes) {
  // Outside mu_. Each session is in flight, so nothing else touches its outgoing message, and
  // it outlives the write: only the publisher thread finishes a stream, never one in flight,
  // and a session is removed only once its stream is done.
  for (const auto& [stream, session] : writes) stream->StartWrite(session->outgoing.Seal());
}

void Publisher::Run() {
  struct Work {
    SubscribeStream* stream;
    Session* session;
    Step action;
    grpc::Status status;
    uint64_t from = 0, to = 0;
  };
  std::vector<Work> work;
  for (;;) {
    work.clear();
    {
      absl::MutexLock l(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(this, &Publisher::HasWork), absl::Milliseconds(200));
      if (stop_ && sessions_.empty()) return;
      kick_ = false;
      for (auto& [stream, sp] : sessions_) {
        Session* s = sp.get();
        if (!SessionHasWork(*s)) continue;
        switch (NextStep(s)) {
          case Step::kNone:
            break;
          case Step::kFinish:
            work.push_back({stream, s, Step::kFinish, s->finish_status});
            break;
          case Step::kWrite:
            work.push_back({stream, s, Step::kWrite, {}});
            break;
          case Step::kReadLog:
            work.push_back({stream, s, Step::kReadLog, {}, s->cursor, Limit(*s)});
            break;
        }
      }
    }
    for (Work& w : work) {
      switch (w.action) {
        case Step::kNone:
          break;
        case Step::kWrite:
          w.stream->StartWrite(w.session->outgoing.Seal());
          break;
        case Step::kFinish:
          w.stream->Finish(w.status);
          break;
        case Step::kReadLog: {
          // A subscriber behind the in-memory tail catches up from the log, one bounded chunk
          // at a time, outside the lock.
          std::vector<Change> changes;
          size_t max = std::min<uint64_t>(options_.max_batch_changes, w.to - w.from + 1);
          absl::Status read = log_->Read(w.from, max, options_.max_batch_bytes, &changes);
          bool write = false;
          {
            absl::MutexLock l(&mu_);
            Session* s = w.session;
            if (read.ok() && (changes.empty() || changes.front().version() != w.from)) {
              read = absl::OutOfRangeError("the change log no longer holds the requested version");
            }
            if (!read.ok() || w.from < log_->oldest()) {
              KV_LOG(WARN) << "downstream " << s->node_id
                           << " fell behind the change log at version " << w.from << ": " << read;
              RequestReset(s, absl::StrCat("version ", w.from,
                                           " is no longer in the change log (oldest retained: ",
                                           log_->oldest(), ")"));
              s->in_flight = false;
              kick_ = true;
            } else {
              for (const Change& c : changes) {
                if (c.version() > w.to) break;
                s->outgoing.AddChange(EncodeAsSent(c));
                s->cursor = c.version() + 1;
              }
              AttachPong(&s->pongs, s->cursor, &s->outgoing);
              write = true;
            }
          }
          if (write) w.stream->StartWrite(w.session->outgoing.Seal());
          break;
        }
      }
    }
  }
}

void Publisher::GetDownstreams(std::vector<kvstore::v1::DownstreamStatus>* out) const {
  int64_t now = clock_->MonotonicMicros();
  absl::MutexLock l(&mu_);
  for (const auto& [stream, s] : sessions_) {
    if (!s->hello_done) continue;
    auto& d = out->emplace_back();
    d.set_node_id(s->node_id);
    d.set_address(s->address);
    d.set_peer(s->peer);
    d.set_identity(s->identity);
    d.set_mode(s->mode);
    d.set_acked_version(s->acked);
    d.set_sent_version(s->cursor > 0 ? s->cursor - 1 : 0);
    d.set_lag_versions(head_ > s->acked ? head_ - s->acked : 0);
    int64_t lag = 0;
    if (s->acked < head_) {
      uint64_t first_unacked = s->acked + 1;
      if (first_unacked >= tail_start_ && first_unacked - tail_start_ < tail_.size()) {
        lag = now - tail_[first_unacked - tail_start_].appended_micros;
      } else {
        lag = now - s->connected_micros;  // older than the tail: at least this long
      }
    }
    d.set_lag_micros(std::max<int64_t>(lag, 0));
    d.set_connected_seconds((now - s->connected_micros) / 1000000);
  }
}

size_t Publisher::subscriber_count() const {
  absl::MutexLock l(&mu_);
  return sessions_.size();
}

uint64_t Publisher::resets_sent() const {
  absl::MutexLock l(&mu_);
  return resets_sent_;
}

}  // namespace kv::replication

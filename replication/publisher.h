#pragma once
// The upstream side of the replication stream, on the central node and on full edges (relays).
//
// Committed (central) or applied (relay) changes are appended here in version order and kept in
// an in-memory tail. One publisher thread serves every subscriber: it sends each one the next
// batch from its cursor (from the tail, or from the change log when the subscriber is behind the
// tail), and answers its pings after every change it had when the ping arrived. A subscriber
// never holds more than one message in flight, so a slow one costs nothing but its own progress
// and never blocks the write path or the others.
//
// Encoded once: a change of the tail is serialised the first time a subscriber needs it, and
// the same bytes go into the message of every subscriber that carries it (stream_message.h);
// a message adds only its own start, pong or reset. The stream is a raw gRPC method, so gRPC
// does not serialise it again.
//
// Threading: Append is called by one writer at a time (the central node's commit thread, or a
// relay's stream applier); stream events arrive on gRPC threads; the publisher's own thread
// does the sending, and sleeps until a session has work (HasWork, evaluated as other threads
// release mu_). Append, Propose and Commit also send themselves, on the caller's thread, when few
// streams are ready (PublisherOptions::max_inline_sends). Everything shared is guarded by mu_; a
// session's outgoing message is touched without it only by the thread that put the session in
// flight (the publisher thread, or that caller), while its write is in flight. Ownership:
// the change log belongs to the node's store and outlives the publisher; each SubscribeStream
// is owned by gRPC and deletes itself; an encoded change is shared (reference-counted) by the
// tail, the messages that carry it and gRPC until its last write completes; shutdown is
// FinishAll (end streams) then Stop (join the thread).

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "grpcpp/support/status.h"
#include "kvstore/v1/admin.pb.h"
#include "kvstore/v1/replication.pb.h"
#include "replication/change_log.h"
#include "replication/stream_message.h"

namespace kv::replication {

struct PublisherOptions {
  // This node's id, sent in StreamStart.
  std::string node_id;
  // Recent changes kept in memory for live subscribers (count, and bytes of the changes and
  // their encodings for the stream).
  size_t tail_changes = 100000;
  uint64_t tail_bytes = 64ull << 20;
  // Values larger than this are sent as invalidations (key + version), fetched on demand.
  uint64_t push_value_limit = 64 << 10;
  // Bounds of one stream message.
  size_t max_batch_changes = 1000;
  size_t max_batch_bytes = 4ull << 20;
  // The newest version readers of this node can see (its store's head). A node makes a version
  // readable before it appends it here, so a pong must name at least this version, or a
  // downstream would count itself fresh as of a moment when readers here already saw a version
  // it lacks (and may never get, if this node dies first). The pong then waits until that version
  // has been sent. Empty: what was appended here.
  std::function<uint64_t()> readable_head;
  // Append, Propose and Commit send the new changes themselves, on the caller's thread, when at
  // most this many live streams are ready for them (saves the publisher thread's wake-up on the
  // way to the downstream); with more, the publisher thread sends to all of them. 0: never.
  size_t max_inline_sends = 4;
};

class SubscribeStream;

// A standby's acknowledgement as the leader's publisher saw it (docs/ha.md).
struct StandbyAck {
  std::string node_id;
  // The highest version it holds durably (proposed or committed).
  uint64_t acked = 0;
  // False: its stream has ended.
  bool connected = true;
  // Which stream (increasing with each new one): a reconnected standby's acknowledgements
  // start over, and an old stream's end does not end the new one.
  uint64_t stream = 0;
};

class Publisher {
 public:
  // `staleness_micros` reports this node's own staleness (0 at the central node); it is read
  // when a ping arrives, before the head version.
  Publisher(ChangeLog* log, Clock* clock, PublisherOptions options, std::string cluster_id,
            uint64_t head_version, std::function<int64_t()> staleness_micros);
  ~Publisher();

  // Changes in version order, starting at head()+1, committed. No I/O of its own, but when at
  // most max_inline_sends streams are ready it encodes the changes and starts their writes on the
  // caller's thread (gRPC may run the socket write, and its TLS, there too).
  void Append(const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes);
  // A leader with standbys (docs/ha.md): changes that are not committed yet. Only standby
  // sessions are sent them; every other downstream (and every pong's head) stops at the
  // committed version, which Commit moves.
  void Propose(const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes);
  void Commit(uint64_t version);
  uint64_t committed() const;
  // A leader stepping down: forgets what it proposed and did not commit (a new leader decides
  // those versions), and ends every standby's stream. `store_head` is the node's store head
  // once its commit thread is idle: a batch written after the step-down began is committed (the
  // standbys hold it) and is served from the change log from here on.
  void DropProposed(uint64_t store_head);
  // Called (outside the publisher's lock, on gRPC threads) for every acknowledgement and every
  // end of a standby's stream. Set before standbys connect; empty = none.
  void SetStandbyObserver(std::function<void(const StandbyAck&)> observer);
  // The epoch sent in every stream start (0 without standbys).
  void SetEpoch(uint64_t epoch);
  // Forgets the tail and moves the head (a relay that re-bootstrapped from a snapshot): every
  // current subscriber is reset.
  void Rebase(std::string cluster_id, uint64_t head_version);
  uint64_t head() const;
  // The history this node serves (server/storage/history_id.h), sent in every stream start and
  // RESET; a downstream that says it holds another is RESET. Set after construction by the
  // node's Open, and by a relay before it Rebases onto a snapshot of a new history. Empty = none
  // known (data from before history ids): nothing is checked.
  void SetHistoryId(std::string history_id);
  std::string history_id() const;

  // This node's chain (replication/chain.h): its own id, then its upstream's chain (set by a
  // relay as it learns it; the central node's is its id alone). Sent in every stream start.
  void SetUpstreamChain(std::vector<std::string> upstream_chain);
  std::vector<std::string> chain() const;

  // A new Subscribe stream (called by the gRPC handler). Owned by gRPC; deletes itself.
  // `identity` is who the peer proved to be (certificate subject or token subject), for Status.
  SubscribeStream* NewStream(const std::string& peer, const std::string& identity = "");

  // Ends every stream with UNAVAILABLE and refuses new ones (shutdown, step 1).
  void FinishAll();
  // Joins the publisher thread once no stream is left (shutdown, step 2, after the RPC server
  // has shut down).
  void Stop();

  void GetDownstreams(std::vector<kvstore::v1::DownstreamStatus>* out) const;
  size_t subscriber_count() const;
  uint64_t resets_sent() const;

 private:
  friend class SubscribeStream;
  struct TailEntry {
    std::shared_ptr<const kvstore::v1::Change> change;
    int64_t appended_micros;
    // The change as it travels, encoded by the first FillFromTail that sends it; empty until
    // then. Shared by every message that carries it.
    grpc::Slice encoded;
  };
  struct Session {
    SubscribeStream* stream = nullptr;
    std::string peer;
    std::string identity;
    std::string node_id, address, mode;
    // A standby central node: sent proposed changes, and the committed version.
    bool standby = false;
    uint64_t serial = 0;  // StandbyAck::stream
    uint64_t sent_committed = 0;
    int64_t connected_micros = 0;
    bool began = false;  // reads started; only then may Finish be issued
    bool hello_done = false;
    bool start_pending = false;
    // Subscribed "from the head" (from_version 0): the start names the version right before
    // the cursor, not the head when it is sent, or changes appended in between look like a gap.
    bool from_head = false;
    uint64_t cursor = 0;  // next version to send
    uint64_t acked = 0;
    // Answers waiting for their head to be sent; bounded (OnPing).
    std::deque<kvstore::v1::Pong> pongs;
    bool reset_pending = false;
    kvstore::v1::Reset reset;
    bool in_flight = false;  // a write or the finish has been issued and not completed
    bool finish_requested = false;
    bool finished = false;
    grpc::Status finish_status;
    StreamMessage outgoing;
  };

  // Events from a stream (any gRPC thread).
  void OnHello(SubscribeStream* s, const kvstore::v1::SubscribeHello& hello);
  void OnPing(SubscribeStream* s, const kvstore::v1::Ping& ping);
  // Records the acknowledgement and queues the pong; true when `s` is a standby's.
  bool HandlePing(Session* s, const kvstore::v1::Ping& ping) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnWriteDone(SubscribeStream* s, bool ok);
  void OnClosing(SubscribeStream* s, grpc::Status status);
  void OnDone(SubscribeStream* s);

  // What the publisher does next for a session that has work: kWrite and kReadLog leave
  // s->outgoing filled (kReadLog: to be completed from the log) and the session in flight.
  enum class Step { kNone, kWrite, kFinish, kReadLog };
  Step NextStep(Session* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `s` only needs the next changes of the tail (or a pong): what a caller of Append,
  // Propose or Commit may send itself.
  bool SendsFromTail(const Session& s) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  using InlineWrites = std::vector<std::pair<SubscribeStream*, Session*>>;
  // Prepares the writes of every session SendsFromTail, if there are at most
  // options_.max_inline_sends of them; then StartInlineWrites issues them (without mu_).
  void CollectInlineWrites(InlineWrites* writes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartInlineWrites(const InlineWrites& writes) ABSL_LOCKS_EXCLUDED(mu_);

  void Run();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The last version `s` may be sent: the head for a standby, else the committed version.
  uint64_t Limit(const Session& s) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return s.standby ? head_ : committed_;
  }
  void AddToTail(const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells the standby observer (after mu_ is released).
  void NotifyStandby(const StandbyAck& ack);
  bool SessionHasWork(const Session& s) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves up to one batch of changes for `s` into s.outgoing from the tail. Returns false when
  // the cursor is behind the tail and the log must be read.
  bool FillFromTail(Session* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The tail entry's encoded change, encoding it on first use.
  const grpc::Slice& Encoded(TailEntry* entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `change` as it travels, encoded (a value over the push limit becomes an invalidation).
  grpc::Slice EncodeAsSent(const kvstore::v1::Change& change) const;
  // Whether `change` travels exactly as stored (no value over the push limit, in it or its parts).
  bool TravelsWhole(const kvstore::v1::Change& change) const;
  // `change` as it travels into `c`: a commit stays one change, each key change follows
  // AddKeyChange.
  void AddChange(const kvstore::v1::Change& change, kvstore::v1::Change* c) const;
  // One key's change (a change or a commit's part) as it travels: a value over the push limit
  // becomes an invalidation.
  void AddKeyChange(const kvstore::v1::Change& change, kvstore::v1::Change* out) const;
  void RequestReset(Session* s, const std::string& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends `s` with `status` (a downstream that broke the protocol, or was replaced).
  void EndSession(Session* s, grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TrimTail() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  ChangeLog* const log_;
  Clock* const clock_;
  const PublisherOptions options_;
  const std::function<int64_t()> staleness_micros_;

  // Guards the tail, the sessions and the shutdown flags.
  mutable absl::Mutex mu_;
  std::string cluster_id_ ABSL_GUARDED_BY(mu_);
  std::string history_id_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> upstream_chain_ ABSL_GUARDED_BY(mu_);
  uint64_t head_ ABSL_GUARDED_BY(mu_);
  // Equal to head_ except at a leader with standbys, between Propose and Commit.
  uint64_t committed_ ABSL_GUARDED_BY(mu_);
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void(const StandbyAck&)> standby_observer_ ABSL_GUARDED_BY(mu_);
  std::deque<TailEntry> tail_ ABSL_GUARDED_BY(mu_);
  uint64_t tail_start_ ABSL_GUARDED_BY(mu_);  // version of tail_.front()
  // The tail's changes and their encodings; trimmed to options_.tail_bytes at each Append
  // (encodings made since count from then on).
  uint64_t tail_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<SubscribeStream*, std::unique_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool kick_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t resets_sent_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_serial_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace kv::replication

#pragma once
// Every watcher of one node: the changes the node applies (central: each group commit after the
// publisher; full edge: each applied batch; cache edge: every change of its stream, also of keys
// it does not cache) are appended here in version order, and one hub thread sends each watcher
// the matching ones from its cursor, then progress messages while nothing matching changes.
//
// Memory is shared: a ring of recent changes (the same shared_ptrs the publisher holds), bounded
// by count and bytes. A watcher is a cursor into it plus one message in flight, so its
// "buffer" is how far its cursor may lag behind the newest change: a live watcher more than
// max_lag_changes behind is ended with RESOURCE_EXHAUSTED and the version to resume from. A
// watcher behind the ring (one that resumed from an old version) reads the node's change log
// where it has one (central, full edge); older than that is OUT_OF_RANGE naming the oldest
// version the node can serve. Append does no per-watcher work, so no watcher can slow the
// feeder (replication or the commit thread) or the other watchers.
//
// The work per change is per group, not per watcher, where watchers share: watchers with equal
// filters (WatchFilter::key) share one filter, and in each round of the hub thread the watchers
// of one filter at one cursor get one shared WatchMessage (built, filtered and encoded once);
// what remains per watcher is its cursor and the sink's write.
//
// Threading: Append and Rebase are called by one feeder at a time (the commit thread, or the
// subscriber thread); Add, OnSent, OnCancel and OnGone come from the sinks' threads (gRPC, HTTP);
// the hub's own thread (kv-watch-hub) does all sending and reads the log. Everything shared is
// guarded by mu_; a message is built under mu_ and immutable once handed to a sink.
// Ownership: the node owns the hub; the change log (may be null) and clock outlive it; sinks are
// owned by their transport and call OnGone before they go away. Shutdown: FinishAll (end every
// watcher, refuse new ones), then Stop once the transports are down (joins the thread).

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "kvstore/v1/kv.pb.h"
#include "kvstore/v1/replication.pb.h"
#include "replication/change_log.h"
#include "server/watch/watch_filter.h"
#include "server/watch/watch_message.h"
#include "server/watch/watch_sink.h"

namespace kv::server {

struct WatchHubOptions {
  // This node's id, in every WatchResponse.
  std::string node_id;
  // The newest version readers of this node can see (the central node's store head; empty
  // elsewhere). A central node makes a batch readable a moment before it appends it here; while
  // readers see more than the hub holds, messages claim freshness only as of the last Append.
  std::function<uint64_t()> readable_head;
  // Watchers at once (--max-watchers); more are refused with RESOURCE_EXHAUSTED.
  int max_watchers = 10000;
  // A live watcher further than this many versions behind the newest change is ended with
  // RESOURCE_EXHAUSTED and kv-resume-version (--watch-max-lag).
  uint64_t max_lag_changes = 10000;
  // Progress message interval while nothing matching changes (--watch-progress-interval),
  // unless the request asks for another (at least min_progress_interval).
  absl::Duration progress_interval = absl::Seconds(1);
  absl::Duration min_progress_interval = absl::Milliseconds(10);
  // Recent changes kept in memory (count and bytes).
  size_t ring_changes = 100000;
  uint64_t ring_bytes = 64ull << 20;
  // Bounds of one WatchResponse (one change is never split, so one commit may exceed them).
  size_t max_message_events = 1000;
  size_t max_message_bytes = 4ull << 20;
  // Values larger than this are omitted from events (--push-value-limit).
  uint64_t max_value_bytes = 64 << 10;
  // Longest key a watch may name (--max-key-bytes).
  size_t max_key_bytes = 512;
};

class WatchHub {
 public:
  // `log` (may be null: only the ring is servable) holds every change up to what is appended
  // here; `staleness_micros` reports the node's staleness (empty = 0, the central node).
  WatchHub(Clock* clock, WatchHubOptions options, const replication::ChangeLog* log,
           std::function<int64_t()> staleness_micros);
  ~WatchHub();

  // Starts the hub thread; the node has applied everything up to `applied_version`.
  void Start(uint64_t applied_version);
  // Changes in version order, starting at applied_version() + 1. O(1) per change.
  void Append(const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes);
  // The node's data jumped to `applied_version` without the changes in between (a snapshot, a
  // cache edge following its upstream's head): the ring is dropped, and watchers that needed
  // those changes end with OUT_OF_RANGE.
  void Rebase(uint64_t applied_version, const std::string& why);
  uint64_t applied_version() const;
  // The oldest start_version this node can serve now.
  uint64_t oldest_version() const;

  // The filter for `request` under this hub's limits, or INVALID_ARGUMENT naming the problem.
  absl::StatusOr<WatchFilter> MakeFilter(const kvstore::v1::WatchRequest& request,
                                         bool hide_reserved) const {
    return WatchFilter::Make(request, options_.max_key_bytes, hide_reserved,
                             options_.max_value_bytes);
  }

  // Registers `sink` for `request` (already authorized, and filtered by `filter`). A refusal
  // (too many watchers, a start version this node no longer holds, shutting down) is returned
  // and the sink is not registered: the caller ends it.
  std::optional<WatchEnd> Add(WatchSink* sink, const kvstore::v1::WatchRequest& request,
                              WatchFilter filter);
  // Sink events (see watch_sink.h).
  void OnSent(WatchSink* sink, bool ok);
  void OnCancel(WatchSink* sink);
  void OnGone(WatchSink* sink);

  // Ends every watcher with UNAVAILABLE and refuses new ones (shutdown, step 1), and waits up to
  // 2 s until every end has been handed to its transport, which closes its connection next.
  void FinishAll();
  // Joins the thread (shutdown, step 2, once the transports are down). Idempotent.
  void Stop();

  size_t watchers() const;
  // Watchers ended because they fell max_lag_changes behind, since the start.
  uint64_t slow_watchers_ended() const;
  // Watches refused by max_watchers, since the start.
  uint64_t refused_by_limit() const;

 private:
  struct Watcher;
  struct Round;
  struct Entry {
    std::shared_ptr<const kvstore::v1::Change> change;
    size_t bytes;
  };
  // What the thread does for one watcher outside the lock.
  struct Work {
    WatchSink* sink;
    Watcher* watcher;
    enum { kSend, kEnd, kReadLog } action;
    uint64_t from = 0, to = 0;
    std::shared_ptr<const WatchMessage> message = nullptr;  // kSend
  };
  // One filter and the number of watchers using it.
  struct SharedFilter {
    std::unique_ptr<const WatchFilter> filter;
    size_t watchers = 0;
  };

  void Run();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return kick_ || stop_; }
  // Decides what `w` needs now (in `round`); returns false when nothing. Updates `next_due`.
  bool Plan(Watcher* w, Round* round, int64_t* next_due, Work* work)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // w's next message from its cursor, and moves the cursor past it: the one this round built for
  // w's filter at that cursor (built now if none yet), or w's own begun from the log.
  std::shared_ptr<const WatchMessage> NextMessage(Watcher* w, Round* round)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds the matching changes from the ring at *cursor to `out` until it is full.
  void FillFromRing(const WatchFilter& filter, uint64_t* cursor, WatchMessage* out,
                    size_t* out_bytes) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds one change of `bytes` serialized; false when the message is full (nothing added).
  bool AddChange(const WatchFilter& filter, const kvstore::v1::Change& change, size_t bytes,
                 WatchMessage* out, size_t* out_bytes) const;
  // Sets what a message says of this node once its events are in (up to `cursor` - 1).
  void StampMessage(WatchMessage* m, uint64_t cursor, Round* round) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Completes a log read for w (on the hub thread): w's own message, or its end.
  void FinishLogRead(Watcher* w, uint64_t from, std::vector<kvstore::v1::Change> changes,
                     absl::Status read) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RequestEnd(Watcher* w, WatchEnd end) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Something happened to `w` (the thread plans it next round); every watcher needs planning.
  void Touch(Watcher* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScanAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  WatchEnd TooOld(uint64_t start, const std::string& why) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint64_t OldestLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records that w is sent what it has read up to its cursor, at `now`.
  void Stamp(Watcher* w, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  Clock* const clock_;
  const WatchHubOptions options_;
  const replication::ChangeLog* const log_;
  const std::function<int64_t()> staleness_micros_;

  mutable absl::Mutex mu_;
  uint64_t head_ ABSL_GUARDED_BY(mu_) = 0;
  // When the last Append (or Start, Rebase) finished: everything readers could see then is here.
  int64_t appended_micros_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Entry> ring_ ABSL_GUARDED_BY(mu_);
  uint64_t ring_start_ ABSL_GUARDED_BY(mu_) = 1;  // version of ring_.front()
  uint64_t ring_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // The log holds nothing before this (a Rebase dropped the history this hub could serve).
  uint64_t floor_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<WatchSink*, std::unique_ptr<Watcher>> watchers_ ABSL_GUARDED_BY(mu_);
  // The watchers' filters by WatchFilter::key, each kept while a watcher uses it.
  absl::flat_hash_map<std::string, SharedFilter> filters_ ABSL_GUARDED_BY(mu_);
  bool kick_ ABSL_GUARDED_BY(mu_) = false;
  // What the next round plans: every watcher, or the ones in dirty_ (sinks; may repeat, may be
  // gone). next_due_: the earliest progress message due (the hub thread's, under mu_).
  bool scan_all_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<WatchSink*> dirty_ ABSL_GUARDED_BY(mu_);
  int64_t next_due_ ABSL_GUARDED_BY(mu_) = 0;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t slow_ended_ ABSL_GUARDED_BY(mu_) = 0;
  // Ends the hub thread has planned, and handed to their sinks (FinishAll waits for them).
  uint64_t ends_planned_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t ends_delivered_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace kv::server

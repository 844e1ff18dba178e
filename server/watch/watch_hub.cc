#include "server/watch/watch_hub.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace kv::server {

using kvstore::v1::Change;

struct WatchHub::Watcher {
  WatchSink* sink = nullptr;
  const WatchFilter* filter = nullptr;  // shared with the watchers of equal filters (filters_)
  uint64_t cursor = 0;                  // next version to look at
  uint64_t sent_through = 0;            // every matching change up to this was handed to the sink
  int64_t interval_micros = 0;
  int64_t last_sent_micros = 0;
  bool first_pending = true;  // the first message (naming the start) is not sent yet
  bool live = false;          // has caught up with the newest change once
  bool in_flight = false;     // a Send or a log read has not completed
  bool end_requested = false;
  bool ended = false;  // End was called: the sink gets nothing more
  WatchEnd end;
  // The message in flight (held until OnSent).
  std::shared_ptr<const WatchMessage> outgoing;
  // A message this watcher fills alone, begun by a read from the log (null, or has events).
  std::shared_ptr<WatchMessage> own;
  size_t own_bytes = 0;
};

// The messages one planning pass built, for the watchers of one filter at one cursor: each is
// built once, and every watcher of that filter at that cursor moves to the same cursor after it.
struct WatchHub::Round {
  struct Built {
    std::shared_ptr<const WatchMessage> message;
    uint64_t cursor;
  };
  int64_t now = 0;
  std::optional<int64_t> staleness;  // asked once per round
  absl::flat_hash_map<std::pair<const WatchFilter*, uint64_t>, Built> built;
};

WatchHub::WatchHub(Clock* clock, WatchHubOptions options, const replication::ChangeLog* log,
                   std::function<int64_t()> staleness_micros)
    : clock_(clock),
      options_(std::move(options)),
      log_(log),
      staleness_micros_(std::move(staleness_micros)) {}

WatchHub::~WatchHub() { Stop(); }

void WatchHub::Start(uint64_t applied_version) {
  {
    absl::MutexLock l(&mu_);
    head_ = applied_version;
    ring_start_ = applied_version + 1;
    appended_micros_ = clock_->MonotonicMicros();
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "kv-watch-hub");
    Run();
  });
}

void WatchHub::Append(const std::vector<std::shared_ptr<const Change>>& changes) {
  if (changes.empty()) return;
  absl::MutexLock l(&mu_);
  for (const auto& c : changes) {
    if (c->version() != head_ + 1) {
      // Never expected (the feeders apply in order); a gap must not reach a watcher.
      KV_LOG(ERROR) << "watch hub: change " << c->version() << " does not follow " << head_;
      ring_.clear();
      ring_bytes_ = 0;
      floor_ = c->version();
      ring_start_ = c->version();
      for (auto& [sink, w] : watchers_) {
        if (w->cursor < c->version()) RequestEnd(w.get(), TooOld(w->cursor, "a gap in the feed"));
      }
    }
    size_t bytes = c->ByteSizeLong();
    ring_.push_back({c, bytes});
    ring_bytes_ += bytes;
    head_ = c->version();
  }
  while (ring_.size() > 1 &&
         (ring_.size() > options_.ring_changes || ring_bytes_ > options_.ring_bytes)) {
    ring_bytes_ -= ring_.front().bytes;
    ring_.pop_front();
    ++ring_start_;
  }
  appended_micros_ = clock_->MonotonicMicros();
  ScanAll();
}

void WatchHub::Rebase(uint64_t applied_version, const std::string& why) {
  absl::MutexLock l(&mu_);
  ring_.clear();
  ring_bytes_ = 0;
  head_ = applied_version;
  appended_micros_ = clock_->MonotonicMicros();
  ring_start_ = applied_version + 1;
  floor_ = applied_version + 1;
  for (auto& [sink, w] : watchers_) {
    if (w->cursor <= applied_version) RequestEnd(w.get(), TooOld(w->cursor, why));
  }
  ScanAll();
}

uint64_t WatchHub::applied_version() const {
  absl::MutexLock l(&mu_);
  return head_;
}

uint64_t WatchHub::oldest_version() const {
  absl::MutexLock l(&mu_);
  return OldestLocked();
}

uint64_t WatchHub::OldestLocked() const {
  uint64_t oldest = ring_start_;
  if (log_ != nullptr) oldest = std::min(oldest, std::max(floor_, log_->oldest()));
  return oldest;
}

WatchEnd WatchHub::TooOld(uint64_t start, const std::string& why) const {
  WatchEnd end;
  end.oldest_version = OldestLocked();
  end.status = absl::OutOfRangeError(
      absl::StrCat("version ", start, " is older than this node can serve (", why,
                   "); the oldest version it can serve is ", end.oldest_version,
                   ": read the current values again and watch from their version"));
  return end;
}

std::optional<WatchEnd> WatchHub::Add(WatchSink* sink, const kvstore::v1::WatchRequest& request,
                                      WatchFilter filter) {
  absl::MutexLock l(&mu_);
  if (closing_) {
    return WatchEnd{absl::UnavailableError("the node is shutting down; watch another node")};
  }
  if (watchers_.size() >= static_cast<size_t>(options_.max_watchers)) {
    ++refused_;
    return WatchEnd{absl::ResourceExhaustedError(absl::StrCat(
        "this node already serves ", watchers_.size(), " watchers, its limit (--max-watchers ",
        options_.max_watchers, "); watch another node or retry later"))};
  }
  const uint64_t start = request.start_version() == 0 ? head_ + 1 : request.start_version();
  if (start < OldestLocked()) return TooOld(start, "its change log no longer holds it");
  auto w = std::make_unique<Watcher>();
  SharedFilter& shared = filters_[filter.key()];
  if (shared.filter == nullptr) shared.filter = std::make_unique<WatchFilter>(std::move(filter));
  ++shared.watchers;
  w->filter = shared.filter.get();
  w->sink = sink;
  w->cursor = start;
  w->sent_through = start - 1;
  int64_t interval = absl::ToInt64Microseconds(options_.progress_interval);
  if (request.progress_interval_millis() > 0) {
    interval = std::max(request.progress_interval_millis() * 1000,
                        absl::ToInt64Microseconds(options_.min_progress_interval));
  }
  w->interval_micros = interval;
  Touch(w.get());
  watchers_[sink] = std::move(w);
  return std::nullopt;
}

void WatchHub::OnSent(WatchSink* sink, bool ok) {
  absl::MutexLock l(&mu_);
  auto it = watchers_.find(sink);
  if (it == watchers_.end()) return;
  Watcher* w = it->second.get();
  w->in_flight = false;
  w->outgoing.reset();
  if (!ok && !w->end_requested) {
    RequestEnd(w, WatchEnd{absl::CancelledError("the watcher went away")});
  }
  // The hub thread is woken only when this watcher has something to do before the next round
  // it plans anyway: a change it has not seen, its end, or a progress message due earlier.
  // Most completions (a watcher that has read the newest change) wake nobody.
  if (w->end_requested || w->cursor <= head_ ||
      w->last_sent_micros + w->interval_micros < next_due_) {
    Touch(w);
  }
}

void WatchHub::OnCancel(WatchSink* sink) {
  absl::MutexLock l(&mu_);
  auto it = watchers_.find(sink);
  if (it == watchers_.end()) return;
  if (!it->second->end_requested) {
    RequestEnd(it->second.get(), WatchEnd{absl::CancelledError("cancelled")});
  }
}

void WatchHub::OnGone(WatchSink* sink) {
  absl::MutexLock l(&mu_);
  auto it = watchers_.find(sink);
  if (it == watchers_.end()) return;
  auto shared = filters_.find(it->second->filter->key());
  if (--shared->second.watchers == 0) filters_.erase(shared);
  watchers_.erase(it);
}

void WatchHub::FinishAll() {
  absl::MutexLock l(&mu_);
  closing_ = true;
  for (auto& [sink, w] : watchers_) {
    if (!w->end_requested) {
      WatchEnd end{absl::UnavailableError("the node is shutting down; resume on another node")};
      end.resume_version = w->sent_through + 1;
      RequestEnd(w.get(), std::move(end));
    }
  }
  // The transports close their connections next: wait (briefly) until every end has been handed
  // to its sink, so each watcher is told where to resume instead of seeing its connection drop.
  auto delivered = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (auto& [sink, w] : watchers_) {
      if (!w->ended) return false;
    }
    return ends_delivered_ >= ends_planned_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&delivered), absl::Seconds(2));
}

void WatchHub::Stop() {
  {
    absl::MutexLock l(&mu_);
    closing_ = true;
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

size_t WatchHub::watchers() const {
  absl::MutexLock l(&mu_);
  return watchers_.size();
}

uint64_t WatchHub::slow_watchers_ended() const {
  absl::MutexLock l(&mu_);
  return slow_ended_;
}

uint64_t WatchHub::refused_by_limit() const {
  absl::MutexLock l(&mu_);
  return refused_;
}

void WatchHub::Touch(Watcher* w) {
  dirty_.push_back(w->sink);
  kick_ = true;
}

void WatchHub::ScanAll() {
  scan_all_ = true;
  kick_ = true;
}

void WatchHub::RequestEnd(Watcher* w, WatchEnd end) {
  if (w->end_requested) return;
  w->end_requested = true;
  w->end = std::move(end);
  Touch(w);
}

bool WatchHub::AddChange(const WatchFilter& filter, const Change& change, size_t bytes,
                         WatchMessage* out, size_t* out_bytes) const {
  kvstore::v1::WatchResponse* r = out->mutable_response();
  if (r->events_size() > 0 &&
      (static_cast<size_t>(r->events_size()) >= options_.max_message_events ||
       *out_bytes + bytes > options_.max_message_bytes)) {
    return false;
  }
  if (filter.AddEvents(change, r) > 0) *out_bytes += bytes;
  return true;
}

void WatchHub::FillFromRing(const WatchFilter& filter, uint64_t* cursor, WatchMessage* out,
                            size_t* out_bytes) const {
  while (*cursor <= head_ && *cursor >= ring_start_) {
    const Entry& e = ring_[*cursor - ring_start_];
    if (!AddChange(filter, *e.change, e.bytes, out, out_bytes)) return;
    ++*cursor;
  }
}

void WatchHub::StampMessage(WatchMessage* m, uint64_t cursor, Round* round) const {
  if (!round->staleness) {
    int64_t staleness = staleness_micros_ ? staleness_micros_() : 0;
    // Readers here already see a batch not appended yet: what they saw when the last Append
    // finished is all here, no more.
    if (options_.readable_head && options_.readable_head() > head_) {
      staleness = std::max(staleness, clock_->MonotonicMicros() - appended_micros_);
    }
    round->staleness = staleness;
  }
  kvstore::v1::WatchResponse* r = m->mutable_response();
  // A watch that starts ahead of this node claims no more than the node has applied.
  r->set_applied_version(std::min(cursor - 1, head_));
  r->set_node_id(options_.node_id);
  r->set_staleness_micros(*round->staleness);
}

std::shared_ptr<const WatchMessage> WatchHub::NextMessage(Watcher* w, Round* round) {
  if (w->own != nullptr) {
    // Begun from the log: this watcher's alone, finished from the ring.
    FillFromRing(*w->filter, &w->cursor, w->own.get(), &w->own_bytes);
    StampMessage(w->own.get(), w->cursor, round);
    w->own_bytes = 0;
    return std::move(w->own);
  }
  auto [it, inserted] = round->built.try_emplace(std::make_pair(w->filter, w->cursor));
  if (inserted) {
    auto m = std::make_shared<WatchMessage>();
    uint64_t cursor = w->cursor;
    size_t bytes = 0;
    FillFromRing(*w->filter, &cursor, m.get(), &bytes);
    StampMessage(m.get(), cursor, round);
    it->second = {std::move(m), cursor};
  }
  w->cursor = it->second.cursor;
  return it->second.message;
}

void WatchHub::Stamp(Watcher* w, int64_t now) {
  w->sent_through = w->cursor - 1;
  w->first_pending = false;
  w->last_sent_micros = now;
  w->in_flight = true;
}

bool WatchHub::Plan(Watcher* w, Round* round, int64_t* next_due, Work* work) {
  const int64_t now = round->now;
  if (w->ended) return false;
  // Only a watcher whose message is still in flight lags by its own fault: one that is not is
  // filled right now, whatever this thread's own delay.
  if (!w->end_requested && w->live && w->in_flight && w->cursor <= head_ &&
      head_ - w->cursor + 1 > options_.max_lag_changes) {
    ++slow_ended_;
    WatchEnd end{absl::ResourceExhaustedError(absl::StrCat(
        "this watcher fell more than ", options_.max_lag_changes,
        " versions behind (--watch-max-lag): it reads too slowly; resume from version ",
        w->sent_through + 1))};
    end.resume_version = w->sent_through + 1;
    RequestEnd(w, std::move(end));
  }
  if (w->end_requested) {
    // Also with a Send in flight: a watcher that stopped reading would never complete it.
    w->ended = true;
    ++ends_planned_;
    *work = {w->sink, w, Work::kEnd};
    return true;
  }
  if (w->in_flight) return false;
  // Behind the ring: read on from the log, once what the last read took has been sent.
  if (w->cursor <= head_ && w->cursor < ring_start_ && w->own == nullptr) {
    if (log_ != nullptr && w->cursor >= std::max(floor_, log_->oldest())) {
      w->in_flight = true;
      *work = {w->sink, w, Work::kReadLog, w->cursor, std::min(head_, ring_start_ - 1)};
      return true;
    }
    RequestEnd(w, TooOld(w->cursor, "it fell behind the changes this node keeps"));
    w->ended = true;
    ++ends_planned_;
    *work = {w->sink, w, Work::kEnd};
    return true;
  }
  std::shared_ptr<const WatchMessage> message = NextMessage(w, round);
  if (w->cursor > head_) w->live = true;
  const bool progress_due = w->live && now - w->last_sent_micros >= w->interval_micros;
  if (w->first_pending || message->response().events_size() > 0 || progress_due) {
    Stamp(w, now);
    w->outgoing = message;
    *work = {w->sink, w, Work::kSend, 0, 0, std::move(message)};
    return true;
  }
  *next_due = std::min(*next_due, w->last_sent_micros + w->interval_micros);
  return false;
}

void WatchHub::FinishLogRead(Watcher* w, uint64_t from, std::vector<Change> changes,
                             absl::Status read) {
  w->in_flight = false;
  Touch(w);
  if (w->end_requested) return;
  if (read.ok() && (changes.empty() || changes.front().version() != from)) {
    read = absl::OutOfRangeError("the change log no longer holds it");
  }
  if (!read.ok()) {
    RequestEnd(w, TooOld(from, std::string(read.message())));
    return;
  }
  auto own = std::make_shared<WatchMessage>();
  size_t bytes = 0;
  for (const Change& c : changes) {
    if (c.version() != w->cursor ||
        !AddChange(*w->filter, c, c.ByteSizeLong(), own.get(), &bytes)) {
      break;
    }
    ++w->cursor;
  }
  if (own->response().events_size() > 0) {
    w->own = std::move(own);
    w->own_bytes = bytes;
  }
}

void WatchHub::Run() {
  std::vector<Work> work;
  for (;;) {
    work.clear();
    {
      absl::MutexLock l(&mu_);
      const int64_t now = clock_->MonotonicMicros();
      Round round;
      round.now = now;
      kick_ = false;
      // Every watcher when the newest change moved (or a progress message may be due), else only
      // the ones something happened to: a burst of OnSent never rescans every watcher.
      if (scan_all_ || now >= next_due_) {
        scan_all_ = false;
        dirty_.clear();
        next_due_ = now + absl::ToInt64Microseconds(options_.progress_interval);
        for (auto& [sink, w] : watchers_) {
          Work one{};
          if (Plan(w.get(), &round, &next_due_, &one)) work.push_back(std::move(one));
        }
      } else {
        std::vector<WatchSink*> dirty;
        dirty.swap(dirty_);
        std::sort(dirty.begin(), dirty.end());
        dirty.erase(std::unique(dirty.begin(), dirty.end()), dirty.end());
        for (WatchSink* sink : dirty) {
          auto it = watchers_.find(sink);
          Work one{};
          if (it != watchers_.end() && Plan(it->second.get(), &round, &next_due_, &one)) {
            work.push_back(std::move(one));
          }
        }
      }
      if (work.empty()) {
        if (stop_) return;
        int64_t wait = std::max<int64_t>(next_due_ - now, 1000);
        mu_.AwaitWithTimeout(absl::Condition(this, &WatchHub::HasWork), absl::Microseconds(wait));
        continue;
      }
    }
    for (Work& w : work) {
      switch (w.action) {
        case Work::kSend:
          w.sink->Send(*w.message);
          break;
        case Work::kEnd: {
          w.sink->End(w.watcher->end);
          absl::MutexLock l(&mu_);
          ++ends_delivered_;
          break;
        }
        case Work::kReadLog: {
          // A watcher behind the ring catches up from the log, one bounded chunk at a time.
          std::vector<Change> changes;
          size_t max = std::min<uint64_t>(options_.max_message_events, w.to - w.from + 1);
          absl::Status read = log_->Read(w.from, max, options_.max_message_bytes, &changes);
          absl::MutexLock l(&mu_);
          FinishLogRead(w.watcher, w.from, std::move(changes), std::move(read));
          break;
        }
      }
    }
  }
}

}  // namespace kv::server

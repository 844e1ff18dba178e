#pragma once
// A WatchSink for tests: records every message and the end, and acknowledges each Send at once
// (or holds it, to play a watcher that stopped reading).

#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/watch/watch_hub.h"

namespace kv::server::testing {

class RecordingSink final : public WatchSink {
 public:
  // `ack`: complete every Send at once; false: never (a stalled reader).
  RecordingSink(WatchHub* hub, bool ack = true) : hub_(hub), ack_(ack) {}

  void Send(const WatchMessage& message) override {
    {
      absl::MutexLock l(&mu_);
      messages_.push_back(message.response());
      shared_.push_back(&message);
    }
    if (ack_) hub_->OnSent(this, true);
  }
  void End(const WatchEnd& end) override {
    WatchEnd copy = end;  // `end` is the hub's, released by OnGone
    hub_->OnGone(this);   // before "ended": a test that saw the end sees the slot free
    absl::MutexLock l(&mu_);
    end_ = std::move(copy);
    ended_ = true;
  }

  // Waits until `pred(messages, ended)` holds; false after `timeout`.
  template <typename Pred>
  bool WaitFor(Pred pred, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock l(&mu_);
    auto cond = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pred(messages_, ended_); };
    return mu_.AwaitWithTimeout(absl::Condition(&cond), timeout);
  }
  // Waits until `n` events have arrived.
  bool WaitForEvents(int n, absl::Duration timeout = absl::Seconds(10)) {
    return WaitFor(
        [n](const std::vector<kvstore::v1::WatchResponse>& m, bool) {
          int total = 0;
          for (const auto& r : m) total += r.events_size();
          return total >= n;
        },
        timeout);
  }
  bool WaitForEnd(absl::Duration timeout = absl::Seconds(10)) {
    return WaitFor([](const auto&, bool ended) { return ended; }, timeout);
  }
  std::vector<kvstore::v1::WatchResponse> messages() {
    absl::MutexLock l(&mu_);
    return messages_;
  }
  std::vector<kvstore::v1::WatchEvent> events() {
    absl::MutexLock l(&mu_);
    std::vector<kvstore::v1::WatchEvent> out;
    for (const auto& r : messages_) out.insert(out.end(), r.events().begin(), r.events().end());
    return out;
  }
  // Which WatchMessage each message was (compare only messages in flight at the same time).
  std::vector<const WatchMessage*> shared() {
    absl::MutexLock l(&mu_);
    return shared_;
  }
  WatchEnd end() {
    absl::MutexLock l(&mu_);
    return end_;
  }

 private:
  WatchHub* const hub_;
  const bool ack_;
  absl::Mutex mu_;
  std::vector<kvstore::v1::WatchResponse> messages_ ABSL_GUARDED_BY(mu_);
  std::vector<const WatchMessage*> shared_ ABSL_GUARDED_BY(mu_);
  WatchEnd end_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kv::server::testing

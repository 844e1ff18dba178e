#include "server/ha/sync_standbys.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"

namespace kv::server {

SyncStandbys::SyncStandbys(Clock* clock, SyncStandbysOptions options,
                           std::vector<std::string> recorded, std::vector<std::string> waited,
                           uint64_t head)
    : clock_(clock), options_(std::move(options)), started_micros_(clock->MonotonicMicros()) {
  waited_.insert(waited.begin(), waited.end());
  recorded_.insert(recorded.begin(), recorded.end());
  proposed_ = head;
  thread_ = std::thread([this] { Run(); });
}

SyncStandbys::~SyncStandbys() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void SyncStandbys::OnAck(const replication::StandbyAck& ack) {
  absl::MutexLock l(&mu_);
  Standby& s = standbys_[ack.node_id];
  if (ack.stream < s.stream) return;  // an older stream's news, after the new one began
  if (ack.stream > s.stream) s = Standby{ack.stream, 0, true};
  s.connected = ack.connected;
  if (ack.connected) s.acked = std::max(s.acked, ack.acked);
}

absl::Status SyncStandbys::Ready() const {
  absl::MutexLock l(&mu_);
  if (static_cast<int>(waited_.size()) >= options_.required) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "this leader needs ", options_.required, " standby(s) in sync (--sync-standbys) and has ",
      waited_.size(), waited_.empty() ? "" : " (" + absl::StrJoin(waited_, ", ") + ")",
      "; nothing was written"));
}

absl::Status SyncStandbys::WaitFor(uint64_t version, const std::function<bool()>& fenced) {
  absl::MutexLock l(&mu_);
  proposed_ = std::max(proposed_, version);
  waiting_for_ = version;
  waiting_since_ = clock_->MonotonicMicros();
  auto held = [this, version]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (static_cast<int>(waited_.size()) < options_.required) return false;
    // A member etcd names but this leader does not wait for could be elected without the batch.
    for (const std::string& id : recorded_) {
      if (!waited_.count(id)) return false;
    }
    for (const std::string& id : waited_) {
      auto it = standbys_.find(id);
      if (it == standbys_.end() || it->second.acked < version) return false;
    }
    return true;
  };
  for (;;) {
    if (held()) break;
    if (fenced()) {
      waiting_for_ = 0;
      return absl::AbortedError("this node lost its leadership before its standbys held the batch");
    }
    mu_.AwaitWithTimeout(absl::Condition(&held), absl::Milliseconds(5));
  }
  waiting_for_ = 0;
  return absl::OkStatus();
}

std::vector<std::string> SyncStandbys::members() const {
  absl::MutexLock l(&mu_);
  return {recorded_.begin(), recorded_.end()};
}

void SyncStandbys::Run() {
  for (;;) {
    std::vector<std::string> next;
    std::string joining, leaving;
    {
      absl::MutexLock l(&mu_);
      auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      mu_.AwaitWithTimeout(absl::Condition(&stopped), absl::Milliseconds(20));
      if (stop_) return;
      const int64_t now = clock_->MonotonicMicros();
      // One change at a time, each recorded before the next is considered.
      for (const std::string& id : waited_) {
        auto it = standbys_.find(id);
        bool gone = it == standbys_.end() || !it->second.connected;
        bool lagging = waiting_for_ != 0 &&
                       (it == standbys_.end() || it->second.acked < waiting_for_) &&
                       now - waiting_since_ > absl::ToInt64Microseconds(options_.lag_timeout);
        // A member is given lag_timeout from this node's election to (re)connect.
        if (gone && now - started_micros_ < absl::ToInt64Microseconds(options_.lag_timeout)) {
          continue;
        }
        if (gone || lagging) {
          leaving = id;
          break;
        }
      }
      if (leaving.empty()) {
        for (const auto& [id, s] : standbys_) {
          if (s.connected && !waited_.count(id) && s.acked >= proposed_) {
            // Holds everything proposed so far: waited for from now on, recorded next.
            joining = id;
            waited_.insert(id);
            break;
          }
        }
      }
      if (leaving.empty() && joining.empty()) {
        if (recorded_ == waited_) continue;
        joining = "(retry)";
      }
      std::set<std::string> target = waited_;
      if (!leaving.empty()) target.erase(leaving);
      next.assign(target.begin(), target.end());
    }
    absl::Status s = options_.persist(next);
    absl::MutexLock l(&mu_);
    if (!s.ok()) {
      KV_LOG(WARN) << "could not record the in-sync standbys in etcd: " << s;
      continue;
    }
    recorded_ = std::set<std::string>(next.begin(), next.end());
    if (!leaving.empty()) {
      waited_.erase(leaving);
      KV_LOG(WARN) << "standby " << leaving << " left the in-sync set (disconnected or more than "
                   << absl::FormatDuration(options_.lag_timeout)
                   << " behind); in sync: " << absl::StrJoin(recorded_, ", ");
    } else if (joining != "(retry)") {
      KV_LOG(INFO) << "standby " << joining
                   << " joined the in-sync set; in sync: " << absl::StrJoin(recorded_, ", ");
    }
  }
}

}  // namespace kv::server

#include "replication/log_retention.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "common/log.h"

namespace kv::replication {

LogRetention::LogRetention(ChangeLog* log, LogRetentionOptions options)
    : log_(log), options_(options) {
  task_ = std::make_unique<PeriodicTask>("log-retention", options_.interval,
                                         [this] { TrimOnce(); });
}

LogRetention::~LogRetention() { Stop(); }

void LogRetention::Stop() { task_->Stop(); }

void LogRetention::TrimOnce() {
  uint64_t new_oldest = log_->oldest();
  if (options_.max_entries > 0 && log_->entries() > options_.max_entries) {
    new_oldest = std::max(new_oldest, log_->newest() - options_.max_entries + 1);
  }
  if (options_.max_age > absl::ZeroDuration()) {
    // Bounded scan per pass, so a huge backlog is trimmed over several passes.
    int64_t cutoff = absl::ToUnixMicros(absl::Now() - options_.max_age);
    auto first_young = log_->FirstVersionAtOrAfter(cutoff, 100000);
    if (first_young.ok()) {
      new_oldest = std::max(new_oldest, *first_young);
    } else {
      KV_LOG(ERROR) << "log retention: " << first_young.status();
    }
  }
  if (new_oldest <= log_->oldest()) return;
  uint64_t dropped = new_oldest - log_->oldest();
  if (auto s = log_->TrimBefore(new_oldest); !s.ok()) {
    KV_LOG(ERROR) << "log retention: " << s;
    return;
  }
  KV_LOG(DEBUG) << "log retention dropped " << dropped << " changes; oldest is now " << new_oldest;
}

}  // namespace kv::replication

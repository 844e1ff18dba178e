#pragma once
// Trims the change log from its old end, by entry count and by age. A downstream that asks for a
// version older than what is retained gets a RESET (and snapshots again).

#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "common/periodic_task.h"
#include "replication/change_log.h"

namespace kv::replication {

struct LogRetentionOptions {
  // Keep at most this many changes; 0 = no count limit.
  uint64_t max_entries = 1'000'000;
  // Drop changes committed longer ago than this; zero = no age limit.
  absl::Duration max_age = absl::Hours(24);
  // How often to trim.
  absl::Duration interval = absl::Seconds(5);
};

class LogRetention {
 public:
  LogRetention(ChangeLog* log, LogRetentionOptions options);
  ~LogRetention();
  void Stop();
  // One trim pass, synchronously. Public for tests.
  void TrimOnce();
  const LogRetentionOptions& options() const { return options_; }

 private:
  ChangeLog* const log_;
  const LogRetentionOptions options_;
  std::unique_ptr<PeriodicTask> task_;
};

}  // namespace kv::replication

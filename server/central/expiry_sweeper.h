#pragma once
// Turns expired keys into ordinary deletions at the central node. Reads already treat an expired
// key as absent; the sweep makes the change log say so too, so every replica converges and the
// space is reclaimed. Each deletion is conditional on the expired write still being current, so
// a key rewritten since is left alone.

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/periodic_task.h"
#include "server/storage/versioned_store.h"
#include "server/central/write_pipeline.h"

namespace kv::server {

struct ExpirySweeperOptions {
  // How often to look for expired keys.
  absl::Duration interval = absl::Seconds(1);
  // Most deletions submitted per round (the next round continues).
  size_t max_per_round = 1000;
};

class ExpirySweeper {
 public:
  ExpirySweeper(VersionedStore* store, WritePipeline* pipeline, Clock* clock,
                ExpirySweeperOptions options);
  ~ExpirySweeper();
  void Stop();

  // One round, synchronously: returns how many keys it deleted. Public for tests.
  size_t SweepOnce();
  uint64_t deleted() const { return deleted_.load(); }

 private:
  VersionedStore* const store_;
  WritePipeline* const pipeline_;
  Clock* const clock_;
  const ExpirySweeperOptions options_;
  std::atomic<uint64_t> deleted_{0};
  std::unique_ptr<PeriodicTask> task_;
};

}  // namespace kv::server

#include "server/central/expiry_sweeper.h"

#include "absl/synchronization/blocking_counter.h"
#include "common/log.h"

namespace kv::server {

ExpirySweeper::ExpirySweeper(VersionedStore* store, WritePipeline* pipeline, Clock* clock,
                             ExpirySweeperOptions options)
    : store_(store), pipeline_(pipeline), clock_(clock), options_(options) {
  task_ = std::make_unique<PeriodicTask>("expiry-sweep", options_.interval,
                                         [this] { SweepOnce(); });
}

ExpirySweeper::~ExpirySweeper() { Stop(); }

void ExpirySweeper::Stop() { task_->Stop(); }

size_t ExpirySweeper::SweepOnce() {
  std::vector<ExpiredKey> due;
  if (auto s = store_->ScanExpired(clock_->UnixSeconds(), options_.max_per_round, &due); !s.ok()) {
    KV_LOG(ERROR) << "expiry sweep: " << s;
    return 0;
  }
  if (due.empty()) return 0;
  std::atomic<size_t> deleted{0};
  std::atomic<bool> failed{false};
  absl::BlockingCounter pending(static_cast<int>(due.size()));
  for (const ExpiredKey& key : due) {
    WriteOp op;
    op.kind = WriteOp::Kind::kExpire;
    op.key = key.key;
    op.if_version = key.version;
    op.done = [&](const WriteResult& r) {
      if (r.status.ok() && r.applied) {
        deleted.fetch_add(1);
      } else if (!r.status.ok() && r.status.code() != absl::StatusCode::kFailedPrecondition) {
        failed.store(true);  // keep the index entry; try again next round
      }
      pending.DecrementCount();
    };
    pipeline_->Submit(std::move(op));
  }
  pending.Wait();
  // Entries whose key was rewritten or deleted since are stale either way; drop them all
  // unless a write failed, in which case the next round retries everything.
  if (!failed.load()) {
    if (auto s = store_->DropExpiryIndex(due); !s.ok()) KV_LOG(ERROR) << "expiry sweep: " << s;
  }
  deleted_.fetch_add(deleted.load());
  if (deleted.load() > 0) KV_LOG(DEBUG) << "expiry sweep deleted " << deleted.load() << " keys";
  return deleted.load();
}

}  // namespace kv::server

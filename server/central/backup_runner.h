#pragma once
// Runs the central node's online backups (server/storage/backup.h) off the gRPC threads: one at
// a time, each on a thread of its own, because copying a large store takes minutes.
//
// Threading: Backup may be called from any thread; a second call while one runs is refused.
// Stop (once, by the node's Stop) cancels a running backup and joins its thread; `done` of a
// cancelled backup still runs (CANCELLED). Ownership: the store belongs to the central node and
// outlives the runner (the node stops the runner before it closes the store).

#include <atomic>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/node/backup_admin.h"
#include "server/storage/versioned_store.h"

namespace kv::server {

class BackupRunner final : public BackupAdmin {
 public:
  explicit BackupRunner(VersionedStore* store) : store_(store) {}
  ~BackupRunner() override { Stop(); }

  void Backup(const kvstore::v1::BackupRequest& request, kvstore::v1::BackupResponse* response,
              Done done) override;
  void Cancel() override;
  // Cancel, then joins the backup's thread.
  void Stop();

 private:
  VersionedStore* const store_;
  std::atomic<bool> cancel_{false};
  absl::Mutex mu_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::server

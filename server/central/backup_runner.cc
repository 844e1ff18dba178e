#include "server/central/backup_runner.h"

#include "absl/time/clock.h"
#include "common/log.h"
#include "server/storage/backup.h"

namespace kv::server {

void BackupRunner::Backup(const kvstore::v1::BackupRequest& request,
                          kvstore::v1::BackupResponse* response, Done done) {
  std::thread previous;
  {
    absl::MutexLock l(&mu_);
    if (stopped_) {
      std::move(done)(absl::UnavailableError("the central node is shutting down"));
      return;
    }
    if (running_) {
      std::move(done)(absl::FailedPreconditionError(
          "a backup is already running on this node; wait for it to finish"));
      return;
    }
    running_ = true;
    previous = std::move(thread_);  // a finished backup's thread, not joined yet
  }
  if (previous.joinable()) previous.join();
  const std::string dest = request.dest();
  KV_LOG(INFO) << "backup to " << dest << " requested";
  absl::MutexLock l(&mu_);
  if (stopped_) {  // Stop came while the previous thread was joined
    running_ = false;
    std::move(done)(absl::UnavailableError("the central node is shutting down"));
    return;
  }
  // Created under mu_, so Stop always finds (and joins) it.
  thread_ = std::thread([this, dest, response, done = std::move(done)]() mutable {
    const absl::Time started = absl::Now();
    auto manifest = CreateBackup(store_, dest, &cancel_);
    if (!manifest.ok()) {
      KV_LOG(WARN) << "backup to " << dest << " failed: " << manifest.status();
    } else {
      response->set_version(manifest->version);
      response->set_path(dest);
      response->set_cluster_id(manifest->cluster_id);
      response->set_history_id(manifest->history_id);
      response->set_files(manifest->files.size());
      response->set_bytes(manifest->total_bytes());
      response->set_duration_micros(absl::ToInt64Microseconds(absl::Now() - started));
    }
    {
      absl::MutexLock l(&mu_);
      running_ = false;
    }
    std::move(done)(manifest.status());
  });
}

void BackupRunner::Cancel() {
  absl::MutexLock l(&mu_);
  stopped_ = true;
  cancel_.store(true);
}

void BackupRunner::Stop() {
  Cancel();
  std::thread worker;
  {
    absl::MutexLock l(&mu_);
    worker = std::move(thread_);
  }
  if (worker.joinable()) worker.join();
}

}  // namespace kv::server

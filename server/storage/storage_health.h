#pragma once
// Follows RocksDB's background errors, so writes are refused with a clear status while RocksDB
// has stopped them instead of being handed to it, and readiness can say why.
//
// What RocksDB 7.8 does by itself (checked in its source, db/error_handler.cc and
// file/sst_file_manager_impl.cc):
// - A failed WAL append or flush for lack of space (NoSpace) is a hard error: every write fails
//   until recovery. The SstFileManager (a default one exists when none is given) polls free
//   space every 5 s and resumes the database once the largest write buffer (64 MiB with the
//   default column family options) fits; the flush it then runs clears the error.
// - A compaction that runs out of space is a soft error: writes go on, compactions are retried.
// - Other retryable IO errors resume automatically up to max_bgerror_resume_count times (we set
//   it explicitly: INT_MAX, every bgerror_resume_retry_interval = 1 s).
// - Corruption, fatal and unrecoverable errors stay until the process restarts.
//
// Thread-safe: RocksDB calls the listener from its background threads (with its DB mutex
// held: the callbacks only copy a status); the accessors may be called from any thread.

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/listener.h"

namespace kv::server {

class StorageHealth final : public rocksdb::EventListener {
 public:
  // `resume_free_bytes`: the free space RocksDB waits for before it resumes after NoSpace (its
  // largest write buffer), for the messages.
  explicit StorageHealth(uint64_t resume_free_bytes) : resume_free_bytes_(resume_free_bytes) {}

  // rocksdb::EventListener.
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* bg_error) override;
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override;

  // OK while RocksDB accepts writes; otherwise the status a write would get: RESOURCE_EXHAUSTED
  // for a full disk, UNAVAILABLE for other stops, each saying whether it resumes by itself.
  absl::Status WritesStopped() const;
  // The last background error RocksDB reported (kept after recovery), empty if none.
  std::string last_error() const;

 private:
  const uint64_t resume_free_bytes_;
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool no_space_ ABSL_GUARDED_BY(mu_) = false;
  bool recoverable_ ABSL_GUARDED_BY(mu_) = true;
  std::string error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::server

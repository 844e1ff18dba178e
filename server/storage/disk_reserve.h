#pragma once
// Keeps a store's filesystem from filling up: a write that would leave less than a reserve of
// free space is refused (RESOURCE_EXHAUSTED) before RocksDB sees it. RocksDB 7.8 must not be
// driven into a full disk: a failed WAL append stops the database (a hard background error),
// a later sync of that WAL outside recovery aborts the process on an assertion
// (`sync_without_flush_called_`, writable_file_writer.h), and its own recovery waits until a
// whole write buffer (64 MiB here) is free again. The reserve leaves room for the flushes and
// compactions that follow the writes it lets in.
//
// Free space is read with statvfs (f_bavail * f_frsize: what this process may use) at most once
// per `refresh_interval`, less what RocksDB will still write for data it already has (its
// unflushed memtables); between readings each admitted write lowers the figure by what it will
// take, so a burst of writes cannot run past the reserve before the next reading. When space
// returns (or a flush lets RocksDB delete WAL files), the next reading lets writes in again:
// nothing has to be reset.
//
// Thread-safe: every method may be called from any thread (one mutex; statvfs runs under it,
// at most once per refresh interval). The clock outlives the reserve.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace kv::server {

// Free bytes available to this process on the filesystem that holds `path`.
using FreeSpaceFn = std::function<absl::StatusOr<uint64_t>(const std::string& path)>;

struct DiskReserveOptions {
  // Free bytes that must remain on the filesystem after a write (--min-free-disk). 0 = no check
  // (free space is still read for Status).
  uint64_t min_free_bytes = 1ull << 30;
  // How long one statvfs reading is trusted.
  absl::Duration refresh_interval = absl::Milliseconds(100);
  // Disk bytes a write is assumed to take per byte of its batch: the WAL now, and a table or
  // blob file when its memtable is flushed (the WAL is deleted only after that).
  uint64_t bytes_per_batch_byte = 2;
  // Reads free space; null = statvfs (StatvfsFreeBytes). Tests pass their own.
  FreeSpaceFn free_space;
  // Bytes the store will still write for data it already holds (RocksDB's unflushed memtables:
  // their flush writes table and blob files while the WAL holding the same data is still on
  // disk); read with free space and subtracted from it. Null = none.
  std::function<uint64_t()> unflushed_bytes;
};

// What the reserve saw last, for Status, metrics and readiness.
struct DiskState {
  // The last reading, less the unflushed bytes then and what admitted writes will take since.
  uint64_t free_bytes = 0;
  // The unflushed bytes of the last reading (already subtracted from free_bytes).
  uint64_t unflushed_bytes = 0;
  uint64_t min_free_bytes = 0;
  // free_bytes < min_free_bytes: ordinary writes are refused.
  bool exceeded = false;
  // Writes refused since start.
  uint64_t refusals = 0;
};

class DiskReserve {
 public:
  enum class Kind {
    // An ordinary write: must leave min_free_bytes free.
    kWrite,
    // A small write that frees space or finishes work already let in (wiping the store for a
    // snapshot, the snapshot's end marker): may use the reserve, but not its last kFloorBytes.
    kReclaim,
  };
  // The part of the reserve even kReclaim writes leave alone.
  static constexpr uint64_t kFloorBytes = 1 << 20;

  DiskReserve(std::string path, DiskReserveOptions options, Clock* clock);

  // OK when a write of a `batch_bytes` batch leaves the reserve free (and then counts what it
  // will take); otherwise RESOURCE_EXHAUSTED saying how much is free and when writes resume.
  absl::Status Admit(uint64_t batch_bytes, Kind kind = Kind::kWrite);
  // The current state (reads free space again if the last reading is stale).
  DiskState State();
  // The message of a refusal in `state` (also used by readiness).
  std::string Explain(const DiskState& state) const;

  const std::string& path() const { return path_; }
  uint64_t min_free_bytes() const { return options_.min_free_bytes; }

 private:
  // Reads free space if the last reading is older than the refresh interval.
  void RefreshLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  DiskState StateLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const DiskReserveOptions options_;
  Clock* const clock_;
  const FreeSpaceFn free_space_;

  mutable absl::Mutex mu_;
  // The last reading, when it was taken (monotonic), and what admitted writes took since.
  uint64_t read_free_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t read_unflushed_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t read_at_micros_ ABSL_GUARDED_BY(mu_) = 0;
  bool has_reading_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t taken_since_read_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t refusals_ ABSL_GUARDED_BY(mu_) = 0;
  // For logging the transitions once, not every refusal.
  bool was_exceeded_ ABSL_GUARDED_BY(mu_) = false;
  bool read_failed_ ABSL_GUARDED_BY(mu_) = false;
};

// statvfs(path): f_bavail * f_frsize.
absl::StatusOr<uint64_t> StatvfsFreeBytes(const std::string& path);

}  // namespace kv::server

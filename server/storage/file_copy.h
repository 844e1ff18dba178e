#pragma once
// Copying files for backups and restores: each file is copied (up to a byte count, for a WAL
// that is still being written), hashed with SHA-256 on the way, and fsynced; progress over a
// whole set of files is logged every few seconds, because a large store takes minutes.
//
// Threading: free functions and a progress object used by one thread (the backup's or the
// restore's).

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kv::server {

// Logs "<what> progress: X of Y (n of m files)" at most every `interval`.
class CopyProgress {
 public:
  CopyProgress(std::string what, uint64_t total_bytes, uint64_t total_files,
               absl::Duration interval = absl::Seconds(2));
  void AddBytes(uint64_t bytes);
  void FileDone();
  uint64_t bytes() const { return bytes_; }
  uint64_t files() const { return files_; }

 private:
  const std::string what_;
  const uint64_t total_bytes_, total_files_;
  const absl::Duration interval_;
  uint64_t bytes_ = 0, files_ = 0;
  absl::Time last_log_;
};

struct CopiedFile {
  uint64_t bytes = 0;
  std::string sha256;  // lowercase hex
};

// Copies the first `limit` bytes of `from` to `to` (created; must not exist), fsyncs it and
// returns its size and hash. `limit` = UINT64_MAX copies everything; a file shorter than
// `limit` (other than UINT64_MAX) is an error. `cancel` (may be null) stops it with CANCELLED.
// `to` empty: only hashes (verification).
absl::StatusOr<CopiedFile> CopyAndHash(const std::string& from, const std::string& to,
                                       uint64_t limit, CopyProgress* progress,
                                       const std::atomic<bool>* cancel);

// Writes `contents` to `path` (created; must not exist) and fsyncs it.
absl::StatusOr<CopiedFile> WriteAndHash(const std::string& path, const std::string& contents);

// fsyncs a directory (after creating or renaming entries in it).
absl::Status FsyncDir(const std::string& dir);

}  // namespace kv::server

#pragma once
// A backup directory (docs/operations.md, "Backup") holds the store's RocksDB files under db/
// and a manifest, KV_BACKUP, written last: a directory without it is an unfinished backup. The
// manifest is text an operator can read:
//
//   kv-backup 1
//   version 1234                 every write up to this version, none after
//   cluster_id 5224afe2...
//   history_id 9c1f...           the history of the backed-up data (a restore starts a new one)
//   created_unix 1764990000
//   file db/000012.sst 40960 <sha256 hex>
//   ...
//
// Verification (at restore) checks that every listed file is there with its size and hash.
//
// Threading: free functions, no shared state.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kv::server {

inline constexpr char kBackupManifestName[] = "KV_BACKUP";
// The store's files, relative to the backup directory.
inline constexpr char kBackupDbDir[] = "db";

struct BackupFile {
  std::string name;  // relative to the backup directory, e.g. "db/000012.sst"
  uint64_t bytes = 0;
  std::string sha256;
};

struct BackupManifest {
  uint64_t version = 0;
  std::string cluster_id;
  std::string history_id;
  int64_t created_unix = 0;
  std::vector<BackupFile> files;

  uint64_t total_bytes() const;
};

std::string FormatBackupManifest(const BackupManifest& manifest);
// INVALID_ARGUMENT (naming the line) when `text` is not a manifest this build understands.
absl::StatusOr<BackupManifest> ParseBackupManifest(const std::string& text);

// Writes `dir`/KV_BACKUP atomically (temporary file, fsync, rename, fsync of `dir`).
absl::Status WriteBackupManifest(const std::string& dir, const BackupManifest& manifest);
// Reads `dir`/KV_BACKUP; NOT_FOUND when `dir` holds none (not a backup, or an unfinished one).
absl::StatusOr<BackupManifest> ReadBackupManifest(const std::string& dir);

}  // namespace kv::server

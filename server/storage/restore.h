#pragma once
// `kvd restore`: prepares a central node's data directory from a backup (backup.h).
//
// The backup is verified while it is copied (every file of the manifest, its size and SHA-256);
// the copy goes to a sibling directory (DATA_DIR.restoring) and is renamed into place only once
// it is complete, opens, holds the manifest's version and cluster, has a NEW history id and is
// stamped as a central node's directory. So an interrupted or refused restore never leaves a
// directory a node would start on. The version sequence continues from the backup's version; the
// cluster id is kept; the new history id makes every edge that followed the old history RESET
// (docs/design.md, "History id").
//
// Threading: a blocking free function for kvd's main thread.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "server/storage/backup_manifest.h"

namespace kv::server {

struct RestoreResult {
  BackupManifest backup;
  // The restored directory's new history id.
  std::string history_id;
};

// Restores the backup in `from` into `data_dir`, which must not exist (its parent must) or be
// empty. FAILED_PRECONDITION for a non-empty data_dir or a directory that is no finished
// backup; DATA_LOSS for a backup that fails verification (nothing is written then).
absl::StatusOr<RestoreResult> RestoreBackup(const std::string& from, const std::string& data_dir);

}  // namespace kv::server

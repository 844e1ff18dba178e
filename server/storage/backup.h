#pragma once
// A consistent online backup of a central node's store (docs/operations.md, "Backup").
//
// Writes continue while it runs. It works like RocksDB's Checkpoint, but copies every file
// (never hard links: a backup must survive what happens to the data directory) and hashes it:
// file deletions are held, the memtables are flushed, and RocksDB lists the live files of one
// consistent state (tables, blob files, the MANIFEST, CURRENT's content, OPTIONS, and the WAL up
// to the length that state needs). Data, change log and head version are written in one
// WriteBatch, so that state names exactly one version: the backup's version is read back from
// the copy's own meta, not guessed from the live store. The manifest (backup_manifest.h) is
// written last.
//
// Threading: CreateBackup blocks its caller for as long as the copy takes (seconds to minutes)
// and may run on any thread while the store serves reads and writes; callers run one at a time
// per store. `cancel` lets the owner stop it at shutdown.

#include <atomic>
#include <string>

#include "absl/status/statusor.h"
#include "server/storage/backup_manifest.h"
#include "server/storage/versioned_store.h"

namespace kv::server {

// Backs `store` up into `dest`: an absolute path that does not exist yet (its parent must) or
// is an empty directory. On failure nothing is left in `dest` but what was there.
absl::StatusOr<BackupManifest> CreateBackup(VersionedStore* store, const std::string& dest,
                                            const std::atomic<bool>* cancel);

}  // namespace kv::server

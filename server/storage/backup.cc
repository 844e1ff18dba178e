#include "server/storage/backup.h"

#include <filesystem>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/units.h"
#include "rocksdb/metadata.h"
#include "server/storage/file_copy.h"

namespace kv::server {
namespace {

namespace fs = std::filesystem;

// The destination must be new (or empty), so a backup never mixes with another's files.
absl::Status PrepareDest(const std::string& dest, bool* created) {
  if (dest.empty() || dest.front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "the backup destination must be an absolute path on the central node's machine, got '",
        dest, "'"));
  }
  std::error_code ec;
  fs::path path(dest);
  if (fs::exists(path, ec)) {
    if (!fs::is_directory(path, ec)) {
      return absl::FailedPreconditionError(absl::StrCat(dest, " exists and is not a directory"));
    }
    if (!fs::is_empty(path, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat(dest, " is not empty; give a new directory for each backup"));
    }
    *created = false;
  } else {
    if (!fs::is_directory(path.parent_path(), ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the parent of ", dest, " does not exist on the central node"));
    }
    if (!fs::create_directory(path, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create ", dest, ": ", ec.message()));
    }
    *created = true;
  }
  if (!fs::create_directory(path / kBackupDbDir, ec)) {
    return absl::InternalError(
        absl::StrCat("cannot create ", (path / kBackupDbDir).string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

absl::Status CopyLiveFiles(rocksdb::DB* db, const std::string& dest,
                           const std::atomic<bool>* cancel, BackupManifest* manifest) {
  // Held until the copy is done: RocksDB would otherwise delete tables compacted away meanwhile.
  if (auto s = db->DisableFileDeletions(); !s.ok()) {
    return absl::InternalError(absl::StrCat("cannot hold file deletions: ", s.ToString()));
  }
  absl::Cleanup enable = [db] { db->EnableFileDeletions(/*force=*/false); };
  rocksdb::LiveFilesStorageInfoOptions options;
  options.wal_size_for_flush = 0;  // flush always: the copy needs little of the WAL
  std::vector<rocksdb::LiveFileStorageInfo> files;
  if (auto s = db->GetLiveFilesStorageInfo(options, &files); !s.ok()) {
    return absl::InternalError(absl::StrCat("cannot list the live files: ", s.ToString()));
  }
  uint64_t total = 0;
  for (const auto& f : files) total += f.replacement_contents.empty() ? f.size : 0;
  KV_LOG(INFO) << "backup to " << dest << ": copying " << files.size() << " files, "
               << FormatByteSize(total);
  CopyProgress progress("backup", total, files.size());
  for (const auto& f : files) {
    const std::string name = absl::StrCat(kBackupDbDir, "/", f.relative_filename);
    const std::string to = (fs::path(dest) / name).string();
    absl::StatusOr<CopiedFile> copied;
    if (!f.replacement_contents.empty()) {
      copied = WriteAndHash(to, f.replacement_contents);  // CURRENT, as of that state
      progress.FileDone();
    } else {
      // `size` is what that state covers: a WAL or MANIFEST still being written is longer.
      copied = CopyAndHash((fs::path(f.directory) / f.relative_filename).string(), to, f.size,
                           &progress, cancel);
    }
    if (!copied.ok()) return copied.status();
    manifest->files.push_back(BackupFile{name, copied->bytes, copied->sha256});
  }
  return FsyncDir((fs::path(dest) / kBackupDbDir).string());
}

}  // namespace

absl::StatusOr<BackupManifest> CreateBackup(VersionedStore* store, const std::string& dest,
                                            const std::atomic<bool>* cancel) {
  const absl::Time started = absl::Now();
  bool created = false;
  if (auto s = PrepareDest(dest, &created); !s.ok()) return s;
  // Anything failing from here removes what this backup wrote.
  bool done = false;
  absl::Cleanup undo = [&] {
    if (done) return;
    std::error_code ec;
    if (created) {
      fs::remove_all(dest, ec);
    } else {
      fs::remove_all(fs::path(dest) / kBackupDbDir, ec);
      fs::remove(fs::path(dest) / absl::StrCat(kBackupManifestName, ".tmp"), ec);
    }
  };

  BackupManifest manifest;
  manifest.created_unix = absl::ToUnixSeconds(absl::Now());
  if (auto s = CopyLiveFiles(store->db_for_backup(), dest, cancel, &manifest); !s.ok()) return s;
  // The copy's own meta says which version it holds.
  auto meta = VersionedStore::ReadMeta((fs::path(dest) / kBackupDbDir).string());
  if (!meta.ok()) {
    return absl::Status(meta.status().code(),
                        absl::StrCat("the copy does not open: ", meta.status().message()));
  }
  manifest.version = meta->head_version;
  manifest.cluster_id = meta->cluster_id;
  manifest.history_id = meta->history_id;
  if (auto s = WriteBackupManifest(dest, manifest); !s.ok()) return s;
  if (created) {
    if (auto s = FsyncDir(fs::path(dest).parent_path().string()); !s.ok()) return s;
  }
  done = true;
  KV_LOG(INFO) << "backup to " << dest << " complete: version " << manifest.version << ", "
               << manifest.files.size() << " files, " << FormatByteSize(manifest.total_bytes())
               << " in " << absl::FormatDuration(absl::Now() - started);
  return manifest;
}

}  // namespace kv::server

#include "server/storage/restore.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/units.h"
#include "server/storage/data_dir_role.h"
#include "server/storage/file_copy.h"
#include "server/storage/history_id.h"
#include "server/storage/versioned_store.h"

namespace kv::server {
namespace {

namespace fs = std::filesystem;

absl::Status CheckTarget(const fs::path& data_dir) {
  std::error_code ec;
  if (fs::exists(data_dir, ec)) {
    if (!fs::is_directory(data_dir, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat("--data-dir ", data_dir.string(), " exists and is not a directory"));
    }
    if (!fs::is_empty(data_dir, ec)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--data-dir ", data_dir.string(),
          " is not empty; a restore only fills a new or empty directory (move the old data "
          "away first, or give another directory)"));
    }
  } else if (!fs::is_directory(data_dir.parent_path(), ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the parent of --data-dir ", data_dir.string(), " does not exist"));
  }
  return absl::OkStatus();
}

// Copies every file of the backup, checking each against the manifest.
absl::Status CopyVerified(const fs::path& from, const BackupManifest& backup,
                          const fs::path& staging) {
  CopyProgress progress("restore", backup.total_bytes(), backup.files.size());
  std::error_code ec;
  for (const BackupFile& f : backup.files) {
    const fs::path source = from / f.name;
    const std::string db_name = fs::path(f.name).lexically_relative(kBackupDbDir).string();
    if (db_name.empty() || db_name.rfind("..", 0) == 0 || db_name.find('/') != std::string::npos) {
      return absl::DataLossError(
          absl::StrCat("backup ", from.string(), " fails verification: unexpected file ", f.name));
    }
    const uint64_t on_disk = fs::file_size(source, ec);
    if (ec) {
      return absl::DataLossError(absl::StrCat("backup ", from.string(), " fails verification: ",
                                              f.name, " is missing (", ec.message(), ")"));
    }
    if (on_disk != f.bytes) {
      return absl::DataLossError(absl::StrCat("backup ", from.string(),
                                              " fails verification: ", f.name, " has ", on_disk,
                                              " bytes, the manifest says ", f.bytes));
    }
    auto copied =
        CopyAndHash(source.string(), (staging / db_name).string(), f.bytes, &progress, nullptr);
    if (!copied.ok()) return copied.status();
    if (copied->sha256 != f.sha256) {
      return absl::DataLossError(absl::StrCat("backup ", from.string(),
                                              " fails verification: ", f.name,
                                              " is damaged (its SHA-256 differs from the "
                                              "manifest's)"));
    }
  }
  return FsyncDir(staging.string());
}

// Opens the copy as a store: it must hold what the manifest says. Then gives it a new history.
absl::StatusOr<std::string> BeginNewHistory(const fs::path& staging, const BackupManifest& backup) {
  StoreOptions options;
  options.path = staging.string();
  options.block_cache_bytes = 8 << 20;
  options.disk.min_free_bytes = 0;
  auto store = VersionedStore::Open(options);
  if (!store.ok()) {
    return absl::DataLossError(
        absl::StrCat("the restored store does not open: ", store.status().message()));
  }
  if ((*store)->head_version() != backup.version || (*store)->cluster_id() != backup.cluster_id ||
      (*store)->snapshot_incomplete()) {
    return absl::DataLossError(absl::StrCat("the restored store holds version ",
                                            (*store)->head_version(), " of cluster ",
                                            (*store)->cluster_id(), ", the manifest says version ",
                                            backup.version, " of cluster ", backup.cluster_id));
  }
  const std::string history = NewHistoryId();
  if (auto s = (*store)->SetHistoryId(history); !s.ok()) return s;
  return history;
}

}  // namespace

absl::StatusOr<RestoreResult> RestoreBackup(const std::string& from, const std::string& data_dir) {
  const fs::path target = fs::absolute(data_dir).lexically_normal();
  if (auto s = CheckTarget(target); !s.ok()) return s;
  auto backup = ReadBackupManifest(from);
  if (!backup.ok()) {
    if (backup.status().code() == absl::StatusCode::kInvalidArgument) {
      return absl::DataLossError(
          absl::StrCat("backup ", from, " fails verification: ", backup.status().message()));
    }
    return absl::FailedPreconditionError(backup.status().message());
  }
  KV_LOG(INFO) << "restoring " << from << " (version " << backup->version << ", cluster "
               << backup->cluster_id << ", " << backup->files.size() << " files, "
               << FormatByteSize(backup->total_bytes()) << ") into " << target.string();

  // Built beside the target and renamed into place once complete.
  const fs::path staging = target.string() + ".restoring";
  std::error_code ec;
  if (fs::exists(staging, ec)) {
    KV_LOG(WARN) << "removing " << staging.string() << " left by an interrupted restore";
    fs::remove_all(staging, ec);
  }
  absl::Cleanup remove_staging = [&staging] {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
  };
  // Stamped first, while empty: only a central node will open it.
  if (auto s = ClaimDataDir(staging.string(), DataDirRole::kCentral); !s.ok()) return s;
  if (auto s = CopyVerified(fs::path(from), *backup, staging); !s.ok()) return s;
  auto history = BeginNewHistory(staging, *backup);
  if (!history.ok()) return history.status();

  if (fs::exists(target, ec)) fs::remove(target, ec);  // checked empty above
  if (std::rename(staging.c_str(), target.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", staging.string(), " to ",
                                            target.string(), ": ", std::strerror(errno)));
  }
  if (auto s = FsyncDir(target.parent_path().string()); !s.ok()) return s;
  KV_LOG(INFO) << "restored version " << backup->version << " of cluster " << backup->cluster_id
               << " into " << target.string() << "; new history " << *history
               << " (the backup's was "
               << (backup->history_id.empty() ? "none" : backup->history_id) << ")";
  return RestoreResult{*std::move(backup), *std::move(history)};
}

}  // namespace kv::server

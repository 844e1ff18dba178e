#include "server/storage/storage_health.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/units.h"

namespace kv::server {

void StorageHealth::OnBackgroundError(rocksdb::BackgroundErrorReason reason,
                                      rocksdb::Status* bg_error) {
  if (bg_error == nullptr || bg_error->ok()) return;
  const auto severity = bg_error->severity();
  absl::MutexLock l(&mu_);
  error_ = bg_error->ToString();
  // A soft error (e.g. a compaction out of space) does not stop writes.
  if (severity < rocksdb::Status::Severity::kHardError) return;
  stopped_ = true;
  no_space_ = bg_error->IsNoSpace() || bg_error->subcode() == rocksdb::Status::kSpaceLimit;
  recoverable_ = severity < rocksdb::Status::Severity::kFatalError;
  // RocksDB's own log has the details; ours says what it means for the node.
  KV_LOG(ERROR) << "RocksDB stopped writes: " << error_
                << (recoverable_ ? "; it resumes by itself once the cause is gone"
                                 : "; it does not resume: restart the node");
}

void StorageHealth::OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) {
  absl::MutexLock l(&mu_);
  if (!info.new_bg_error.ok()) {
    error_ = info.new_bg_error.ToString();
    return;
  }
  if (stopped_) {
    KV_LOG(INFO) << "RocksDB resumed writes after: " << error_;
  }
  stopped_ = false;
  no_space_ = false;
  recoverable_ = true;
}

absl::Status StorageHealth::WritesStopped() const {
  absl::MutexLock l(&mu_);
  if (!stopped_) return absl::OkStatus();
  if (no_space_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("storage stopped writes after running out of disk space (", error_,
                     "); RocksDB resumes by itself within 5 s of ",
                     FormatByteSize(resume_free_bytes_), " being free again"));
  }
  return absl::UnavailableError(absl::StrCat(
      "storage stopped writes after a background error (", error_, ")",
      recoverable_ ? "; it resumes by itself if the error clears" : "; restart the node"));
}

std::string StorageHealth::last_error() const {
  absl::MutexLock l(&mu_);
  return error_;
}

}  // namespace kv::server

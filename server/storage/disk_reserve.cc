#include "server/storage/disk_reserve.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/units.h"

namespace kv::server {

absl::StatusOr<uint64_t> StatvfsFreeBytes(const std::string& path) {
  struct statvfs st;
  if (statvfs(path.c_str(), &st) != 0) {
    return absl::UnavailableError(absl::StrCat("statvfs ", path, ": ", std::strerror(errno)));
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

DiskReserve::DiskReserve(std::string path, DiskReserveOptions options, Clock* clock)
    : path_(std::move(path)),
      options_(options),
      clock_(clock),
      free_space_(options_.free_space ? options_.free_space : FreeSpaceFn(StatvfsFreeBytes)) {}

void DiskReserve::RefreshLocked() {
  const int64_t now = clock_->MonotonicMicros();
  if (has_reading_ &&
      now - read_at_micros_ < absl::ToInt64Microseconds(options_.refresh_interval)) {
    return;
  }
  auto free = free_space_(path_);
  read_at_micros_ = now;
  if (!free.ok()) {
    // Cannot tell: keep the last reading (or none: writes pass) and say so once.
    if (!read_failed_) KV_LOG(WARN) << "cannot read free disk space: " << free.status();
    read_failed_ = true;
    return;
  }
  read_failed_ = false;
  read_free_ = *free;
  read_unflushed_ = options_.unflushed_bytes ? options_.unflushed_bytes() : 0;
  has_reading_ = true;
  taken_since_read_ = 0;
  const bool exceeded = StateLocked().exceeded;
  if (exceeded != was_exceeded_) {
    if (exceeded) {
      KV_LOG(WARN) << Explain(StateLocked()) << " (refusing writes)";
    } else {
      KV_LOG(INFO) << "the data directory " << path_ << " has " << FormatByteSize(read_free_)
                   << " free again (--min-free-disk " << FormatByteSize(options_.min_free_bytes)
                   << "); writes resume";
    }
    was_exceeded_ = exceeded;
  }
}

DiskState DiskReserve::StateLocked() const {
  DiskState s;
  const uint64_t taken = read_unflushed_ + taken_since_read_;
  s.free_bytes = read_free_ > taken ? read_free_ - taken : 0;
  s.unflushed_bytes = read_unflushed_;
  s.min_free_bytes = options_.min_free_bytes;
  s.exceeded = has_reading_ && options_.min_free_bytes > 0 && s.free_bytes < s.min_free_bytes;
  s.refusals = refusals_;
  return s;
}

DiskState DiskReserve::State() {
  absl::MutexLock l(&mu_);
  RefreshLocked();
  return StateLocked();
}

std::string DiskReserve::Explain(const DiskState& state) const {
  return absl::StrCat(
      "the data directory ", path_, " has ", FormatByteSize(state.free_bytes), " free",
      state.unflushed_bytes > 0 ? absl::StrCat(" (after ", FormatByteSize(state.unflushed_bytes),
                                               " for memtables still to be flushed)")
                                : "",
      ", below --min-free-disk ", FormatByteSize(state.min_free_bytes),
      "; writes resume when space returns");
}

absl::Status DiskReserve::Admit(uint64_t batch_bytes, Kind kind) {
  absl::MutexLock l(&mu_);
  RefreshLocked();
  const uint64_t need = batch_bytes * options_.bytes_per_batch_byte;
  if (!has_reading_ || options_.min_free_bytes == 0) {
    taken_since_read_ += need;
    return absl::OkStatus();
  }
  const DiskState state = StateLocked();
  const uint64_t keep = kind == Kind::kWrite ? options_.min_free_bytes
                                             : std::min(kFloorBytes, options_.min_free_bytes);
  if (state.free_bytes >= keep && state.free_bytes - keep >= need) {
    taken_since_read_ += need;
    return absl::OkStatus();
  }
  ++refusals_;
  if (state.free_bytes >= keep) {
    // Enough free now, but not for this write on top.
    return absl::ResourceExhaustedError(absl::StrCat(
        "the data directory ", path_, " has ", FormatByteSize(state.free_bytes), " free; this ",
        FormatByteSize(batch_bytes), " write would leave less than --min-free-disk ",
        FormatByteSize(keep), "; writes resume when space returns"));
  }
  return absl::ResourceExhaustedError(Explain(state));
}

}  // namespace kv::server

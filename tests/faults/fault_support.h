#pragma once
// Helpers of the fault tests: a small tmpfs to fill, ballast files, a node's process id, resident
// memory and liveness, and a bare HTTP GET (for /readyz and /metrics).

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kv::testing {

// Mounts a tmpfs of `bytes` at `dir` (created) for the test's lifetime and unmounts it after.
// Needs root (CI runs as root); Mount() says why it could not, for GTEST_SKIP.
class TmpfsMount {
 public:
  TmpfsMount(std::string dir, uint64_t bytes) : dir_(std::move(dir)), bytes_(bytes) {}
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  absl::Status Mount();
  const std::string& dir() const { return dir_; }

 private:
  const std::string dir_;
  const uint64_t bytes_;
  bool mounted_ = false;
};

// Free bytes of the filesystem holding `path` (statvfs f_bavail * f_frsize).
uint64_t FreeBytes(const std::string& path);
// Creates (or replaces) `path` with fallocate so that about `leave_free` bytes stay free on its
// filesystem. Returns the ballast's size.
absl::StatusOr<uint64_t> FillDisk(const std::string& path, uint64_t leave_free);

// The pid a KvdProcess named `name` in `work_dir` wrote to its ready file.
absl::StatusOr<pid_t> ReadyFilePid(const std::string& work_dir, const std::string& name);
// VmRSS of `pid` in bytes (from /proc/PID/status); 0 if unreadable.
uint64_t ResidentBytes(pid_t pid);
// True while `pid` runs (exists and is not a zombie).
bool Alive(pid_t pid);

struct HttpAnswer {
  int code = 0;
  std::string body;
};
// GET `target` from HOST:PORT over a fresh connection (HTTP/1.1, Connection: close).
absl::StatusOr<HttpAnswer> HttpGet(const std::string& address, const std::string& target);

}  // namespace kv::testing

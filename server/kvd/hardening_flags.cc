#include "server/kvd/hardening_flags.h"

#include "absl/strings/str_cat.h"
#include "common/units.h"
#include "server/cache/cache_sizing.h"

namespace kv::server {

void AddHardeningFlags(CLI::App* command, HardeningFlags* flags) {
  command
      ->add_option("--min-free-disk", flags->min_free_disk,
                   "central and full edges: free disk space to keep under --data-dir; writes "
                   "that would leave less are refused (RESOURCE_EXHAUSTED) and resume when "
                   "space returns (0 = no check)")
      ->capture_default_str();
  command
      ->add_option("--max-concurrent-snapshots", flags->max_concurrent_snapshots,
                   "central and full edges: snapshots served to downstream edges at once; more "
                   "are refused (RESOURCE_EXHAUSTED) and the edges retry after a backoff")
      ->capture_default_str();
}

absl::Status ParseHardeningFlags(const HardeningFlags& flags, HardeningOptions* out) {
  auto bytes = ParseByteSize(flags.min_free_disk);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--min-free-disk: ", bytes.status().message()));
  }
  out->min_free_disk_bytes = *bytes;
  if (flags.max_concurrent_snapshots < 1 || flags.max_concurrent_snapshots > 1000) {
    return absl::InvalidArgumentError("--max-concurrent-snapshots must be 1..1000");
  }
  out->max_concurrent_snapshots = flags.max_concurrent_snapshots;
  return absl::OkStatus();
}

absl::Status CheckCacheBytesFlag(uint64_t cache_bytes) {
  return CheckCacheBytesFlag("--cache-bytes", cache_bytes);
}

absl::Status CheckCacheBytesFlag(const std::string& flag, uint64_t cache_bytes) {
  return cache::ValidateCacheBytes(flag, cache_bytes);
}

}  // namespace kv::server

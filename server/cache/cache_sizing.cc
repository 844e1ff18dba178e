#include "server/cache/cache_sizing.h"

#include <unistd.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kv::server::cache {
namespace {

// "512 B", "1 KiB", "23.4 GiB" (kv_cache depends on abseil only, not on common/units).
std::string Bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  if (value == std::floor(value)) return absl::StrFormat("%.0f %s", value, kUnits[unit]);
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

}  // namespace

uint64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
}

absl::Status ValidateCacheBytes(absl::string_view flag, uint64_t bytes, uint64_t physical_memory) {
  if (bytes < kMinCacheBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " ", Bytes(bytes), " is below the minimum of ", Bytes(kMinCacheBytes),
        ": split over the cache's 16 shards it would hold next to nothing, so the cache would "
        "be silently off"));
  }
  if (physical_memory != 0 && bytes > physical_memory) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " ", Bytes(bytes), " is more than this machine's memory (", Bytes(physical_memory),
        "): the kernel would end the process long before the cache filled; give at most the "
        "memory this node may use"));
  }
  return absl::OkStatus();
}

}  // namespace kv::server::cache

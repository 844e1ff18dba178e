#pragma once
// The bounds of a cache budget (--cache-bytes). Below kMinCacheBytes the 16 shards get a few
// KiB each and almost nothing fits (the cache would be silently off); above the machine's
// physical memory the kernel's OOM killer ends the process long before the cache is full.
// Thread-safe (no state).

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kv::server::cache {

inline constexpr uint64_t kMinCacheBytes = 1ull << 20;

// sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE); 0 when unknown.
uint64_t PhysicalMemoryBytes();

// OK when kMinCacheBytes <= bytes <= physical_memory (no upper check when physical_memory is
// 0); otherwise INVALID_ARGUMENT naming `flag`, the bound and why.
absl::Status ValidateCacheBytes(absl::string_view flag, uint64_t bytes,
                                uint64_t physical_memory = PhysicalMemoryBytes());

}  // namespace kv::server::cache

#pragma once
// The flags of the limits that keep a node up under load and on a small machine
// (docs/faults.md, "Limits"): --min-free-disk and --max-concurrent-snapshots (central node and
// full edges), and the bounds of a cache edge's --cache-bytes.

#include <cstdint>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace kv::server {

struct HardeningFlags {
  std::string min_free_disk = "1GiB";
  int max_concurrent_snapshots = 2;
};

// Adds --min-free-disk and --max-concurrent-snapshots to `command`.
void AddHardeningFlags(CLI::App* command, HardeningFlags* flags);

struct HardeningOptions {
  // Free disk space a store keeps (0 = no check): StoreOptions::disk.min_free_bytes.
  uint64_t min_free_disk_bytes = 1ull << 30;
  // ReplicationServiceOptions::max_concurrent_snapshots.
  int max_concurrent_snapshots = 2;
};

// Parses and checks the flags; errors name the flag.
absl::Status ParseHardeningFlags(const HardeningFlags& flags, HardeningOptions* out);

// A cache budget (--cache-bytes, a full edge's --hot-cache-bytes when not 0) must be at least
// 1MiB and at most this machine's memory; errors name `flag`.
absl::Status CheckCacheBytesFlag(uint64_t cache_bytes);
absl::Status CheckCacheBytesFlag(const std::string& flag, uint64_t cache_bytes);

}  // namespace kv::server

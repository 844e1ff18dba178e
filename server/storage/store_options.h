#pragma once
// How a full node's store is opened: its directory, durability, indexes, caches, where large
// values live and how much disk it must leave free.

#include <cstdint>
#include <string>

#include "server/storage/disk_reserve.h"

namespace kv::server {

struct StoreOptions {
  // Data directory; created when missing.
  std::string path;
  // fsync the WAL with every batch. The central node acknowledges a write only after its batch is
  // synced; an edge can re-fetch what a power loss takes, so it skips the fsync.
  bool sync = true;
  // Maintain the expiry index (the central node sweeps expired keys into deletions).
  bool index_expirations = true;
  // Shared block cache for all column families.
  uint64_t block_cache_bytes = 256ull << 20;
  // Records (data) and changes (log) at least this large are kept in RocksDB's blob files, not in
  // the LSM's blocks, so reading a small key never loads a large neighbour's block. 0 keeps every
  // value inline (as before blob files were used); either setting opens every data directory.
  uint64_t min_blob_bytes = 64 << 10;
  // Free disk space to keep: writes that would eat into it are refused (docs/faults.md).
  DiskReserveOptions disk;
};

}  // namespace kv::server

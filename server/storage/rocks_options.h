#pragma once
// The RocksDB options of a full node's store: one place for the column families, their tables,
// blob files for large values, and the error-recovery settings.
//
// Blob files (RocksDB's integrated BlobDB): in `data` and `log` a value of at least
// StoreOptions::min_blob_bytes is written to a blob file at flush and the table keeps a small
// reference, so a 25 MiB value no longer fills a data block that its small neighbours share
// (reading one of them used to load and decompress the whole block: 0.09 ms became 8 ms).
// Garbage collection relocates live blobs out of the oldest 25% of blob files during
// compaction. The blob options are column family options that any RocksDB >= 6.18 accepts on
// an existing directory, with or without blob files in it; turning them off later keeps the
// existing blob files readable.

#include <cstdint>
#include <memory>
#include <vector>

#include "rocksdb/db.h"
#include "rocksdb/listener.h"
#include "server/storage/store_options.h"

namespace kv::server {

// Column families in the order VersionedStore opens them.
enum ColumnFamilyIndex { kMetaFamily = 0, kDataFamily = 1, kLogFamily = 2, kExpiryFamily = 3 };

struct RocksOptions {
  rocksdb::DBOptions db;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  // The largest write_buffer_size of the families: the free space RocksDB's own NoSpace
  // recovery waits for.
  uint64_t max_write_buffer_bytes = 0;
};

// `listener` (may be null) receives RocksDB's events.
RocksOptions MakeRocksOptions(const StoreOptions& options,
                              std::shared_ptr<rocksdb::EventListener> listener);

}  // namespace kv::server

#include "server/storage/rocks_options.h"

#include <algorithm>
#include <climits>

#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace kv::server {
namespace {

// Blob files are closed at this size (RocksDB's default); a flush ends its file early.
constexpr uint64_t kBlobFileBytes = 256ull << 20;

void UseBlobFiles(uint64_t min_blob_bytes, rocksdb::ColumnFamilyOptions* cf) {
  if (min_blob_bytes == 0) return;
  cf->enable_blob_files = true;
  cf->min_blob_size = min_blob_bytes;
  cf->blob_file_size = kBlobFileBytes;
  cf->enable_blob_garbage_collection = true;
  cf->blob_garbage_collection_age_cutoff = 0.25;
}

}  // namespace

RocksOptions MakeRocksOptions(const StoreOptions& options,
                              std::shared_ptr<rocksdb::EventListener> listener) {
  RocksOptions r;
  rocksdb::DBOptions& db = r.db;
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  db.IncreaseParallelism(2);
  db.max_total_wal_size = 256ull << 20;
  db.keep_log_file_num = 5;
  // Keep what the WAL holds in memtables at open instead of flushing it: on a disk that filled
  // up, recovery would otherwise need the space the WAL already takes a second time.
  db.avoid_flush_during_recovery = true;
  // RocksDB 7.8's defaults, set here so they are visible: retryable background IO errors are
  // retried every second without limit (NoSpace is recovered by the SstFileManager instead;
  // see storage_health.h).
  db.max_bgerror_resume_count = INT_MAX;
  db.bgerror_resume_retry_interval = 1000000;
  if (listener != nullptr) db.listeners.push_back(std::move(listener));

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto table_options = [&](bool bloom) {
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = cache;
    if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.cache_index_and_filter_blocks = true;
    t.pin_l0_filter_and_index_blocks_in_cache = true;
    return t;
  };
  rocksdb::ColumnFamilyOptions data_options;
  data_options.OptimizeLevelStyleCompaction(64ull << 20);
  data_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options(true)));
  // A whole-key bloom filter on the memtable lets a Get of a key not written recently skip the
  // skiplist search, which was ~20% of a read-serving node's CPU with a full memtable.
  data_options.memtable_prefix_bloom_size_ratio = 0.05;
  data_options.memtable_whole_key_filtering = true;
  UseBlobFiles(options.min_blob_bytes, &data_options);
  rocksdb::ColumnFamilyOptions plain_options;
  plain_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options(false)));
  // The change log holds every value too (also those pushed as invalidations).
  rocksdb::ColumnFamilyOptions log_options = plain_options;
  UseBlobFiles(options.min_blob_bytes, &log_options);

  r.families = {
      {rocksdb::kDefaultColumnFamilyName, plain_options},
      {"data", data_options},
      {"log", log_options},
      {"expiry", plain_options},
  };
  for (const auto& f : r.families) {
    r.max_write_buffer_bytes =
        std::max<uint64_t>(r.max_write_buffer_bytes, f.options.write_buffer_size);
  }
  return r;
}

}  // namespace kv::server

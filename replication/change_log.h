#pragma once
// The ordered change log: one RocksDB column family, key = big-endian version, value = a
// serialized kvstore.v1.Change. Appends are part of the caller's WriteBatch, so a change and
// the data it describes commit together. Retention trims from the old end.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kvstore/v1/replication.pb.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace kv::replication {

// Big-endian fixed-width encoding of versions, so RocksDB's bytewise order is version order.
std::string EncodeVersionKey(uint64_t version);
bool DecodeVersionKey(absl::string_view key, uint64_t* version);

class ChangeLog {
 public:
  // `db` and `cf` must outlive the log.
  ChangeLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf);

  // Finds the retained range. `head_version` is the store's last applied version; an empty log
  // has oldest() == head_version + 1.
  absl::Status Load(uint64_t head_version);

  // Adds `change` to `batch`. Call Committed() once the batch is durable.
  absl::Status Append(const kvstore::v1::Change& change, rocksdb::WriteBatch* batch);
  // Adds an already serialized change (avoids serializing twice).
  void AppendSerialized(uint64_t version, const std::string& serialized,
                        rocksdb::WriteBatch* batch);
  // The batch holding versions up to `newest` is durable.
  void Committed(uint64_t newest);

  // Reads up to `max_entries` changes starting at `from` (stops before a change that would take
  // the values past `max_bytes`, always returning at least one change when one exists). Returns
  // fewer when the log ends.
  absl::Status Read(uint64_t from, size_t max_entries, size_t max_bytes,
                    std::vector<kvstore::v1::Change>* out) const;

  // Drops every change older than `new_oldest`.
  absl::Status TrimBefore(uint64_t new_oldest);
  // Drops everything; the next change will be `next_version` (after a snapshot bootstrap).
  absl::Status Reset(uint64_t next_version, rocksdb::WriteBatch* batch);

  // Finds the first version committed at or after `unix_micros` by scanning from the oldest,
  // looking at no more than `max_scan` entries. Returns oldest() when none of them is older.
  absl::StatusOr<uint64_t> FirstVersionAtOrAfter(int64_t unix_micros, size_t max_scan) const;

  // Oldest retained version; equals newest() + 1 when the log is empty.
  uint64_t oldest() const { return oldest_.load(std::memory_order_acquire); }
  uint64_t newest() const { return newest_.load(std::memory_order_acquire); }
  uint64_t entries() const {
    uint64_t o = oldest(), n = newest();
    return n >= o ? n - o + 1 : 0;
  }

 private:
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  std::atomic<uint64_t> oldest_{1};
  std::atomic<uint64_t> newest_{0};
};

}  // namespace kv::replication

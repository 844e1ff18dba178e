#pragma once
// The RocksDB store of a full node (the central node or a full edge). Column families:
//   default  meta: head version, cluster id, snapshot-in-progress marker, dataset checksums
//   data     key -> current record (server/storage/record_codec.h)
//   log      big-endian version -> Change (replication/change_log.h)
//   expiry   big-endian expiration + key -> version (only where expirations are swept)
// Every change is applied in one WriteBatch together with its log entry and the new head
// version, so data, log and head never disagree, also after a crash. The dataset checksum
// (replication/checksum.h) is kept the same way: each write reads the old records it replaces,
// and the running sum is written in the same batch (docs/operations.md, "Checksums and kvctl
// verify").
//
// Disk space: every write passes a DiskReserve first (docs/faults.md, "Disk full"), and none is
// handed to RocksDB while RocksDB itself has stopped writes after a background error
// (StorageHealth). A write refused that way fails with RESOURCE_EXHAUSTED (no space) or
// UNAVAILABLE (stopped) and has written nothing; any other error of a write may have left it in
// the WAL (its outcome is unknown).
//
// Threading: reads (Get, List, NewSnapshotCursor, head_version, the scans) may run on any
// thread at any time. Writes (Apply, the snapshot install, InstallFetchedValue) serialise on
// write_mu_: the central node's commit thread, or at an edge the stream applier and the value
// fetcher. DropExpiryIndex (the sweeper) takes write_mu_ too, for the checks every write passes.
// Ownership: the store owns its RocksDB, change log, disk reserve and health listener; callers
// hold it by unique_ptr and must destroy it after every thread using it has stopped.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "kvstore/v1/kv.pb.h"
#include "kvstore/v1/replication.pb.h"
#include "replication/change_log.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "server/storage/disk_reserve.h"
#include "server/storage/record_codec.h"
#include "server/storage/storage_health.h"
#include "server/storage/store_options.h"

namespace kv::server {

// A record read from the store, pinned in RocksDB's cache (no copy of the value).
struct PinnedRecord {
  rocksdb::PinnableSlice buffer;
  RecordView view;
};

// The records of several keys read together (VersionedStore::MultiGet), pinned like
// PinnedRecord; room for 16 keys before anything is allocated.
struct PinnedRecords {
  absl::InlinedVector<rocksdb::PinnableSlice, 16> buffers;
  absl::InlinedVector<RecordView, 16> views;
  absl::InlinedVector<bool, 16> found;  // false: the key has no record
};

// A key whose expiry index entry has come due.
struct ExpiredKey {
  std::string key;
  uint64_t version = 0;
  int64_t expiration = 0;
};

// The dataset checksum at one version.
struct ChecksumState {
  uint64_t version = 0;
  // This node's own, over the records it holds.
  uint64_t checksum = 0;
  // The central node's at `version`, as the stream or the snapshot carried it (at the central
  // node, its own); unknown before an upstream sent one.
  bool central_known = false;
  uint64_t central = 0;
};

// A full recomputation of the checksum, against the running one persisted at the same version.
struct ChecksumScan {
  uint64_t version = 0;
  uint64_t recomputed = 0;
  uint64_t persisted = 0;
  uint64_t records = 0;
};

// What a store's meta says about its data: the version it holds, and whose history it is.
struct StoreMeta {
  uint64_t head_version = 0;
  std::string cluster_id;
  std::string history_id;
  bool snapshot_incomplete = false;
};

class VersionedStore;

// A batch of the central node decided, stamped with its checksums and encoded, but not yet
// written: a leader with standbys sends the changes to them first and writes once they hold
// them (docs/ha.md). Made by PrepareStamped, consumed by WritePrepared.
struct PreparedWrite {
  rocksdb::WriteBatch batch;
  ChecksumState state;
  // The head it continues, and the head after it.
  uint64_t base = 0;
  uint64_t head = 0;
};

// A change a standby central node holds durably before its leader says it is committed, with
// the leader's epoch it came under (docs/ha.md, "Standbys").
struct PendingChange {
  uint64_t epoch = 0;
  std::shared_ptr<const kvstore::v1::Change> change;
};

// One consistent state of the store for reads of several keys (BatchGet): every Get at it sees
// the same changes, so a reader never sees part of a commit. Copyable; the RocksDB snapshot is
// released with the last copy, which must go before the store.
struct ReadPoint {
  // Every change up to this version is visible at the point (later ones may be too).
  uint64_t head = 0;
  std::shared_ptr<const rocksdb::Snapshot> snapshot;
};

// Iterates every live key at one RocksDB snapshot (Replication.Snapshot). Memory stays bounded
// however long the snapshot takes: each Next() opens a fresh iterator on the snapshot (an
// iterator pins the memtables it started with, which writes meanwhile would otherwise keep in
// memory after their flush), blocks are read around the block cache (fill_cache = false), and
// readahead is RocksDB's automatic one (at most 256 KiB per open table file). Not thread-safe.
class SnapshotCursor {
 public:
  ~SnapshotCursor();
  uint64_t version() const { return version_; }
  const std::string& cluster_id() const { return cluster_id_; }
  const std::string& history_id() const { return history_id_; }
  // The source's dataset checksum at version().
  uint64_t checksum() const { return checksum_; }
  // Appends entries until `max_bytes` of keys+values (at least one entry when any remain).
  // Keys whose value is missing go to `missing` with no value, and their value hashes to
  // `missing_hashes` (if not null). Expired keys not yet swept are included: they count in the
  // checksum until the central node's deletion of them, which the receiver must then hold.
  // Returns false when the snapshot is exhausted.
  absl::StatusOr<bool> Next(size_t max_bytes, int64_t now_unix,
                            std::vector<kvstore::v1::Entry>* entries,
                            std::vector<kvstore::v1::Entry>* missing,
                            std::vector<uint64_t>* missing_hashes = nullptr);

 private:
  friend class VersionedStore;
  SnapshotCursor() = default;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_ = nullptr;
  const rocksdb::Snapshot* snapshot_ = nullptr;
  // The last key returned by Next (the next iterator starts after it); empty before the first.
  std::string last_key_;
  bool started_ = false;
  bool done_ = false;
  uint64_t version_ = 0;
  uint64_t checksum_ = 0;
  std::string cluster_id_;
  std::string history_id_;
};

class VersionedStore {
 public:
  // Opens or creates the store. A directory locked by another process gives
  // FAILED_PRECONDITION with a message that says so.
  static absl::StatusOr<std::unique_ptr<VersionedStore>> Open(const StoreOptions& options);
  ~VersionedStore();
  // Reads the meta of the store in `path` without writing anything there (RocksDB read-only,
  // no info log): a backup's copy, whose files must stay as they were hashed.
  static absl::StatusOr<StoreMeta> ReadMeta(const std::string& path);

  VersionedStore(const VersionedStore&) = delete;
  VersionedStore& operator=(const VersionedStore&) = delete;

  // Last applied (central: committed) version; 0 for an empty store.
  uint64_t head_version() const { return head_.load(std::memory_order_acquire); }
  std::string cluster_id() const;
  // Central node: creates a random cluster id on first start. Returns the id.
  absl::StatusOr<std::string> EnsureClusterId();
  // The history the data belongs to (server/storage/history_id.h); empty when it has none
  // (an edge before its first sync, or data from before history ids).
  std::string history_id() const;
  // Central node: creates a new history id when the store has none. Returns the id.
  absl::StatusOr<std::string> EnsureHistoryId();
  // Records the history the data now belongs to (synced). Callers write it after the data it
  // names, or while the snapshot-incomplete marker covers that data.
  absl::Status SetHistoryId(const std::string& history_id);
  // True after a crash in the middle of a snapshot install: the data is incomplete.
  bool snapshot_incomplete() const { return snapshot_incomplete_.load(); }

  // Point read of the raw record (expired records included; callers judge expiry), at `at` or
  // else the latest state. Returns false when the key has no record.
  absl::StatusOr<bool> Get(absl::string_view key, PinnedRecord* out,
                           const ReadPoint* at = nullptr) const;
  // Point reads of `keys` at `at` with one RocksDB MultiGet (one pass over the memtables and
  // files for all of them): out->found[i] and out->views[i] as Get for keys[i].
  absl::Status MultiGet(const google::protobuf::RepeatedPtrField<std::string>& keys,
                        const ReadPoint& at, PinnedRecords* out) const;
  // The current state, for reads of several keys that must agree (any thread).
  ReadPoint NewReadPoint() const;

  // Applies consecutive changes (head+1, head+2, ...) atomically with their log entries.
  // RESOURCE_EXHAUSTED / UNAVAILABLE: refused before writing (see above). The changes are logged
  // as they are: the central node's checksum they carry is kept as the central's (an edge).
  absl::Status Apply(const std::vector<const kvstore::v1::Change*>& changes);
  // The central node: as Apply, and stamps each change with the checksum after it before it is
  // logged, so the stream carries it.
  absl::Status ApplyStamped(const std::vector<kvstore::v1::Change*>& changes);
  // ApplyStamped in two steps, for a leader with standbys: the checksums are stamped and the
  // batch encoded now, and written by WritePrepared once the standbys hold it. Nothing else may
  // write in between (FAILED_PRECONDITION if the head moved).
  absl::StatusOr<std::unique_ptr<PreparedWrite>> PrepareStamped(
      const std::vector<kvstore::v1::Change*>& changes);
  absl::Status WritePrepared(PreparedWrite* prepared);

  // --- A standby central node's proposed changes (versioned_store_pending.cc) ----------------
  // Keeps `changes` (proposed by the leader in `epoch`) in the meta family, synced, replacing
  // any held at the same versions. They are not data: reads never see them.
  absl::Status PutPending(const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes,
                          uint64_t epoch);
  // Every pending change above the head version, in version order.
  absl::StatusOr<std::vector<PendingChange>> ReadPending() const;
  // Forgets pending changes at versions >= `from_version` (UINT64_MAX: none of those), and
  // always those at or below the head (applied since). A range deletion: for the rare moments a
  // standby starts over (validation, snapshot), not for every batch.
  absl::Status DropPending(uint64_t from_version);
  // Forgets the pending changes at versions first..last, just applied. Point deletions, not
  // synced: one range tombstone per batch would pile up in the meta family and make every read
  // of it slower (a crash only leaves them to be skipped, as they are at or below the head).
  absl::Status ForgetPending(uint64_t first, uint64_t last);

  // The running checksum at the head version (any thread).
  ChecksumState checksum_state() const;
  // Recomputes the checksum from every record at one RocksDB snapshot (a full scan) and returns
  // it with the persisted one at the same version; they differ when the data changed behind the
  // store's back (a disk error, a bug, an edited directory).
  absl::StatusOr<ChecksumScan> ScanChecksum() const;
  // Tests only: replaces a record's value, keeping its version, without updating the checksum
  // (what a corrupted disk would do). NOT_FOUND when the key has no record.
  absl::Status CorruptValueForTesting(absl::string_view key, absl::string_view value);

  // Keys with `prefix` strictly after `start_after` (empty = from the start of the prefix), in
  // order, skipping expired ones; at most `limit`. `*more` tells whether further keys exist;
  // `*missing_values` (if not null) counts listed keys whose value this node has not fetched.
  absl::Status List(absl::string_view prefix, absl::string_view start_after, size_t limit,
                    bool include_values, int64_t now_unix, std::vector<kvstore::v1::Entry>* out,
                    bool* more, size_t* missing_values = nullptr) const;

  // --- Snapshot bootstrap of a full edge -------------------------------------------------------
  // Wipes data, log and index and marks the store incomplete until FinishSnapshotInstall. The
  // wipe may use the disk reserve (it frees space): the old tables are dropped or compacted
  // away at once, so a snapshot retried after running out of space starts from a clean disk.
  absl::Status BeginSnapshotInstall();
  // `missing_hashes` holds the value hash of each entry of `missing` (absent ones count as 0).
  absl::Status InstallSnapshotEntries(const std::vector<const kvstore::v1::Entry*>& entries,
                                      const std::vector<const kvstore::v1::Entry*>& missing,
                                      const std::vector<uint64_t>& missing_hashes = {});
  absl::Status FinishSnapshotInstall(uint64_t version, const std::string& cluster_id);
  // The central node's checksum the snapshot carried. FinishSnapshotInstall makes this node's
  // checksum the sum over the installed entries and records this one next to it (the caller
  // compares them through checksum_state()).
  void SetSnapshotCentralChecksum(std::optional<uint64_t> central);

  // --- Upstream side ---------------------------------------------------------------------------
  std::unique_ptr<SnapshotCursor> NewSnapshotCursor() const;

  // A value that arrived as an invalidation has been fetched. Installed only when the key's
  // record is still at `version` with its value missing; returns whether it was installed.
  absl::StatusOr<bool> InstallFetchedValue(absl::string_view key, uint64_t version,
                                           absl::string_view value);
  // Keys whose value is still missing (after a restart, to resume their fetches).
  absl::Status ScanMissingValues(size_t max, std::vector<std::pair<std::string, uint64_t>>* out);

  // --- Expiry ----------------------------------------------------------------------------------
  // Index entries with expiration <= now, oldest first, at most `max`.
  absl::Status ScanExpired(int64_t now_unix, size_t max, std::vector<ExpiredKey>* out) const;
  absl::Status DropExpiryIndex(const std::vector<ExpiredKey>& keys);

  // The RocksDB itself, for an online backup (server/storage/backup.h), which only reads it.
  rocksdb::DB* db_for_backup() const { return db_.get(); }

  replication::ChangeLog& log() { return *log_; }
  const replication::ChangeLog& log() const { return *log_; }

  // RocksDB's estimates, for Status.
  uint64_t ApproximateKeyCount() const;
  uint64_t ApproximateDataBytes() const;

  // --- Disk and storage health -----------------------------------------------------------------
  // Free space and the reserve, as last read (reads again when stale).
  DiskState disk_state() const { return disk_->State(); }
  // OK while writes are accepted; otherwise why not (the reserve is exceeded, or RocksDB has
  // stopped writes), in the words a refused write gets.
  absl::Status WritesAccepted() const;
  // OK unless RocksDB has stopped writes after a background error (then the status a write gets).
  absl::Status StorageStopped() const { return health_->WritesStopped(); }
  // RocksDB's last background error, empty if none (kept after it recovered).
  std::string storage_error() const { return health_->last_error(); }

 private:
  VersionedStore() = default;
  absl::Status Load();
  // Reads the persisted checksum; a directory from before checksums gets it computed once.
  absl::Status LoadChecksum(uint64_t head);
  // Every write goes through here: the health and space checks, then RocksDB.
  enum class Sync { kAsStore, kAlways, kNever };
  absl::Status Write(rocksdb::WriteBatch* batch, DiskReserve::Kind kind = DiskReserve::Kind::kWrite,
                     Sync sync = Sync::kAsStore) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Drops the tables a snapshot wipe left behind (best effort; logs failures).
  void ReclaimWipedSpace();
  // A write was refused for space: flush the memtables (at most once a second) so RocksDB can
  // delete the WAL files they pin.
  void FlushToFreeWal();
  // The record a put, invalidation or delete (a change or a commit's part) leaves at `version`.
  void AddRecordToBatch(const kvstore::v1::Change& change, uint64_t version,
                        rocksdb::WriteBatch* batch);
  // Apply and ApplyStamped; `stamp` (the same changes, writable) gets the checksums.
  absl::Status ApplyChanges(const std::vector<const kvstore::v1::Change*>& changes,
                            const std::vector<kvstore::v1::Change*>* stamp);
  // The batch of ApplyChanges, without writing it.
  absl::Status PrepareChanges(const std::vector<const kvstore::v1::Change*>& changes,
                              const std::vector<kvstore::v1::Change*>* stamp, PreparedWrite* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status WritePreparedLocked(PreparedWrite* prepared)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The checksum term of the key's current record, or nullopt when it has none; `pending` holds
  // the records written earlier in the same batch (not in RocksDB yet).
  absl::StatusOr<std::optional<uint64_t>> CurrentTerm(
      const std::string& key,
      const absl::flat_hash_map<std::string, std::optional<uint64_t>>& pending) const;
  // The full scan of ScanChecksum, at `snapshot`.
  absl::Status SumRecords(const rocksdb::Snapshot* snapshot, uint64_t* sum,
                          uint64_t* records) const;
  void PutChecksum(const ChecksumState& state, rocksdb::WriteBatch* batch);
  void SetChecksumState(const ChecksumState& state);

  // Constant after Open. The listener and reserve are declared before the DB, so they outlive it.
  StoreOptions options_;
  std::shared_ptr<StorageHealth> health_;
  std::unique_ptr<DiskReserve> disk_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* data_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* log_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* expiry_cf_ = nullptr;
  std::unique_ptr<replication::ChangeLog> log_;

  // Written under write_mu_, read without it.
  std::atomic<uint64_t> head_{0};
  std::atomic<bool> snapshot_incomplete_{false};
  std::atomic<int64_t> last_wal_flush_micros_{0};
  // Writers are one thread at the central node; at an edge the stream applier and the value
  // fetcher both write, and the fetcher's check-then-write must not interleave with an apply.
  mutable absl::Mutex write_mu_;
  mutable absl::Mutex cluster_mu_;
  std::string cluster_id_ ABSL_GUARDED_BY(cluster_mu_);
  // The running checksum: changed under write_mu_ after each write, read under checksum_mu_
  // (Status must not wait behind a synced write).
  mutable absl::Mutex checksum_mu_;
  ChecksumState checksum_ ABSL_GUARDED_BY(checksum_mu_);
  // The sum over the entries of the snapshot being installed.
  uint64_t snapshot_sum_ ABSL_GUARDED_BY(write_mu_) = 0;
  std::optional<uint64_t> snapshot_central_ ABSL_GUARDED_BY(write_mu_);
  std::string history_id_ ABSL_GUARDED_BY(cluster_mu_);
};

}  // namespace kv::server

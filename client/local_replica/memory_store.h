#pragma once
// A LocalReplica's full copy (client/include/kv/local_replica.h): every key in memory, written by
// the replication stream, read by the application's threads.
//
// Layout: each record is one block (a 16-byte header, then the expiration when it has one, the
// key, the metadata and the value) from the store's SlabAllocator, so a record costs its bytes
// rounded up to 4 and a pointer in each of two indexes: a hash set (Get) and an ordered set
// (List). They are split into shards by key hash, each under its own reader-writer mutex: a Get
// takes one shard's lock for reading and copies the record out, so readers of different keys do
// not meet on one lock, and List merges the shards' ordered runs. Memory and speed are measured
// in bench/local_replica/local_replica_bench.cc (docs/BENCHMARKS.md, "LocalReplica").
//
// Consistency: one applied batch (and a commit, which is one change) becomes visible to a
// multi-key read all at once or not at all. The applier bumps a sequence number to odd before a
// batch and to even after; BatchGet and List read between two equal even values, retrying a few
// times and then taking the applier's mutex, so they see exactly the state at one version.
//
// Checksums: the store keeps the dataset checksum of its records (replication/checksum.h) and
// compares it with the central node's after every change and snapshot that carries one. A
// mismatch makes the copy suspect: usable() turns false and NeedsBootstrap() true (the
// subscriber resynchronises by a snapshot); the snapshot that matches clears it.
//
// Large values that travel as invalidations are held as records whose value is missing: a read
// of such a key goes to the upstream for that version.
//
// Threading: Apply, SetHistoryId and the snapshot methods are called by the Subscriber's thread
// only (replication/change_applier.h); Get, BatchGet, List and every accessor from any thread.
// Records are allocated and freed under apply_mu_ only; a record is freed after it has been
// unlinked under its shard's lock, so no reader still holds it.
// Ownership: the store owns its records (its allocator holds their memory); a read returns
// copies.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "client/local_replica/slab_allocator.h"
#include "replication/change_applier.h"

namespace kv::replica {

// A record as a read copies it out.
struct StoredRecord {
  std::string key;
  // Empty when the value is missing (value_missing) or was not asked for (List).
  std::string value;
  std::string metadata;
  uint64_t version = 0;
  // Absolute expiration, Unix seconds; 0 = never. The store does not look at it.
  int64_t expiration = 0;
  // The value travelled as an invalidation and this copy does not hold it.
  bool value_missing = false;
};

class MemoryStore final : public replication::ChangeApplier, public replication::SnapshotTarget {
 public:
  // `shards`: independently locked parts of the index (at least 1).
  explicit MemoryStore(int shards = 16);
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // --- ChangeApplier ------------------------------------------------------------------------
  uint64_t applied_version() const override { return applied_.load(std::memory_order_acquire); }
  std::string cluster_id() const override;
  std::string history_id() const override;
  absl::Status SetHistoryId(const std::string& history_id) override;
  absl::Status Apply(
      const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes) override;

  // --- SnapshotTarget -----------------------------------------------------------------------
  bool NeedsBootstrap() const override { return !usable(); }
  absl::Status BeginSnapshot() override;
  absl::Status ApplySnapshotChunk(const kvstore::v1::SnapshotChunk& chunk) override;
  absl::Status FinishSnapshot(uint64_t version, const std::string& cluster_id) override;

  // --- Reads --------------------------------------------------------------------------------
  // Bootstrapped and not suspect: reads may be answered from this copy.
  bool usable() const {
    return bootstrapped_.load(std::memory_order_acquire) &&
           !diverged_.load(std::memory_order_acquire);
  }
  // Copies the record of `key` into *out (reusing its buffers); false when there is none.
  bool Get(absl::string_view key, StoredRecord* out) const;
  // Every key's record (nullopt when absent), all as of one version, returned in *as_of.
  void BatchGet(const std::vector<std::string>& keys, std::vector<std::optional<StoredRecord>>* out,
                uint64_t* as_of) const;
  // Up to `limit` records with `prefix` whose keys sort after `after` (empty: from the start), in
  // key order, all as of one version (*as_of), skipping records expired at `now_unix`. *more:
  // further keys with the prefix follow.
  void List(absl::string_view prefix, absl::string_view after, size_t limit, bool with_values,
            int64_t now_unix, std::vector<StoredRecord>* out, bool* more, uint64_t* as_of) const;

  // --- Figures ------------------------------------------------------------------------------
  uint64_t key_count() const { return keys_.load(std::memory_order_relaxed); }
  // Bytes of key, metadata and value held (what the records carry, not what they cost).
  uint64_t payload_bytes() const { return payload_bytes_.load(std::memory_order_relaxed); }
  uint64_t mismatches() const { return mismatches_.load(); }
  std::string last_mismatch() const;

 private:
  struct Record;
  struct KeyLess {
    using is_transparent = void;
    bool operator()(const Record* a, const Record* b) const;
    bool operator()(const Record* a, absl::string_view b) const;
    bool operator()(absl::string_view a, const Record* b) const;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(const Record* r) const;
    size_t operator()(absl::string_view key) const { return absl::HashOf(key); }
  };
  struct KeyEq {
    using is_transparent = void;
    bool operator()(const Record* a, const Record* b) const;
    bool operator()(const Record* a, absl::string_view b) const;
    bool operator()(absl::string_view a, const Record* b) const { return (*this)(b, a); }
  };
  using Index = absl::btree_set<Record*, KeyLess>;
  using ByKey = absl::flat_hash_set<Record*, KeyHash, KeyEq>;
  // Both indexes hold the same records; a record belongs to the shard (it frees it).
  // std::shared_mutex rather than absl::Mutex: the read path runs in the application's process,
  // where abseil's debug bookkeeping (deadlock detection, on in Debian's build unless the
  // program turns it off) would cost every Get.
  struct alignas(64) Shard {
    mutable std::shared_mutex mu;
    ByKey by_key;  // Get: one hash probe, the record itself is the only other line touched
    Index index;   // List: key order
  };
  // Gives the record back to the allocator: run under apply_mu_ only.
  struct RecordDeleter {
    SlabAllocator* records = nullptr;
    void operator()(Record* r) const;
  };
  using RecordPtr = std::unique_ptr<Record, RecordDeleter>;

  RecordPtr MakeRecord(absl::string_view key, absl::string_view value, absl::string_view metadata,
                       uint64_t version, int64_t expiration,
                       std::optional<uint64_t> missing_value_hash)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  static void CopyOut(const Record& r, bool with_value, StoredRecord* out);
  static uint64_t TermOf(const Record& r);

  const Shard& ShardFor(absl::string_view key) const;
  Shard& ShardFor(absl::string_view key);
  // Installs `record` (replacing the key's), or removes `key` when record is null. Returns the
  // record it replaced or removed, to be freed after the shard lock is released.
  RecordPtr Put(absl::string_view key, RecordPtr record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  // One change (or one part of a commit, at `version`).
  void ApplyOne(const kvstore::v1::Change& c, uint64_t version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  void Clear() ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  void ReportMismatch(const std::string& what);
  // Runs `read` between two equal even sequence numbers; after a few tries, under apply_mu_.
  template <typename Read>
  void ReadConsistent(Read&& read) const;

  std::vector<std::unique_ptr<Shard>> shards_;

  // Held by the applier for a whole batch or snapshot step; a multi-key read that keeps losing
  // the race with it takes it too.
  mutable absl::Mutex apply_mu_;
  // The records' memory.
  SlabAllocator records_ ABSL_GUARDED_BY(apply_mu_);
  uint64_t checksum_ ABSL_GUARDED_BY(apply_mu_) = 0;
  // The central node's checksum from the snapshot being installed, if it sent one.
  std::optional<uint64_t> snapshot_checksum_ ABSL_GUARDED_BY(apply_mu_);
  // Even between batches, odd while one is being applied.
  std::atomic<uint64_t> seq_{0};
  std::atomic<uint64_t> applied_{0};
  std::atomic<bool> bootstrapped_{false};
  std::atomic<bool> diverged_{false};
  std::atomic<uint64_t> keys_{0};
  std::atomic<uint64_t> payload_bytes_{0};
  std::atomic<uint64_t> mismatches_{0};

  mutable absl::Mutex meta_mu_;
  std::string cluster_id_ ABSL_GUARDED_BY(meta_mu_);
  std::string history_id_ ABSL_GUARDED_BY(meta_mu_);
  std::string last_mismatch_ ABSL_GUARDED_BY(meta_mu_);
};

}  // namespace kv::replica

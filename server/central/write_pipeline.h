#pragma once
// Group commit for the central node. Callers submit writes from any thread; one writer thread
// drains the queue into a single RocksDB WriteBatch (data + change log + head), writes it with
// sync, assigns consecutive versions, hands the committed changes to the publisher, and only
// then answers each caller. Because one thread decides every write in order, conditional
// writes (if_version) are linearizable.
//
// A batch the store refuses before writing (RESOURCE_EXHAUSTED: the disk reserve is reached;
// UNAVAILABLE: RocksDB has stopped writes) answers its writes with that status: nothing was
// written, and the caller may retry once space returns. Any other storage error makes their
// outcome unknown (INTERNAL "...outcome is unknown"): the batch may be in the WAL.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "server/storage/versioned_store.h"

namespace kv::server {

struct WriteResult {
  absl::Status status;
  // The committed version; for a delete that found nothing, the head it was judged at.
  uint64_t version = 0;
  // Put: always true on success. Delete: whether a live key was removed.
  bool applied = false;
  int64_t expiration = 0;
  // Commit: the new value of each add, in the order of the mutations.
  std::vector<int64_t> counters;
};

struct WriteOp {
  enum class Kind {
    kPut,
    kDelete,
    // Expiry sweep: delete the key only if it is still at `if_version` (its expired write).
    kExpire,
    // An atomic commit (KV.Commit): checks, then every mutation at one version, or nothing.
    kCommit,
  };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;
  std::string metadata;
  // Absolute Unix seconds (TTLs are converted before submit); 0 = never.
  int64_t expiration = 0;
  // Current version must equal this (0 = must be absent). Required for kExpire.
  std::optional<uint64_t> if_version;
  // kCommit: the validated request (the caller keeps it alive until `done` runs) and each
  // mutation's absolute expiration (TTLs converted), in the order of its mutations.
  const kvstore::v1::CommitRequest* commit = nullptr;
  std::vector<int64_t> commit_expirations;
  absl::AnyInvocable<void(const WriteResult&) &&> done;

  // Bytes of keys and values, for the batch budget.
  size_t Bytes() const;
};

using CommittedChanges = std::vector<std::shared_ptr<const kvstore::v1::Change>>;

struct WritePipelineOptions {
  // Most writes in one batch.
  size_t max_batch_ops = 2048;
  // Stop adding writes to a batch once its values reach this size (one write always fits).
  size_t max_batch_bytes = 64ull << 20;
  // Runs on the writer thread after a batch is durable and before any caller is answered, so a
  // version is published before anyone can learn it. Must not block.
  std::function<void(const CommittedChanges&)> on_commit;
  // A leader with standbys (docs/ha.md). `replicate` gets each decided batch, stamped, before it
  // is written, and returns once the standbys hold it durably; an error leaves the batch
  // unwritten and its writes' outcome unknown (standbys may hold it: the node must step down).
  // `may_acknowledge` is asked after the write and before anyone is answered: an error (the
  // leader's lease can no longer be trusted) answers the writes with an unknown outcome.
  // Both run on the writer thread; empty = a central node alone.
  std::function<absl::Status(const CommittedChanges&)> replicate;
  std::function<absl::Status()> may_acknowledge;
  // Called when a batch `replicate` accepted could not be written here: its versions are spent
  // (the standbys hold them), so this node must stop leading.
  std::function<void(const absl::Status&)> abandon;
  // Observes each batch (ops, time spent writing), for metrics.
  std::function<void(size_t ops, double seconds)> on_batch;
};

class WritePipeline {
 public:
  WritePipeline(VersionedStore* store, Clock* clock, WritePipelineOptions options);
  ~WritePipeline();

  // Queues a write. After Stop() the write is answered UNAVAILABLE at once.
  void Submit(WriteOp op);
  // Stops accepting, commits everything already queued, answers it, and joins the writer.
  void Stop();
  // While `refusal` is an error, every write submitted is answered with it at once (a standby
  // central node, docs/ha.md); OK accepts writes again.
  void SetRefusal(absl::Status refusal);
  // Waits until no batch is being committed and none is queued (after SetRefusal, so that none
  // starts again).
  void WaitIdle();

  uint64_t batches() const;
  uint64_t writes() const;

 private:
  struct KeyState {
    bool exists = false;
    uint64_t version = 0;
    // The change (or commit part) that wrote the key earlier in this batch; null when the state
    // is the store's.
    const kvstore::v1::Change* written = nullptr;
  };
  using Overlay = absl::flat_hash_map<std::string, KeyState>;
  void Run();
  void CommitBatch(std::vector<WriteOp>* ops);
  // Writes the decided batch: at once, or (a leader with standbys) after they hold it.
  absl::Status WriteBatchOf(const CommittedChanges& changes,
                            const std::vector<kvstore::v1::Change*>& writable);
  // Adds the Put `op` (decided: it will be written) to the batch at `version`; takes its key and
  // value.
  void AddPut(WriteOp* op, uint64_t version, int64_t now_micros, Overlay* overlay,
              WriteResult* result, std::vector<kvstore::v1::Change*>* writable,
              CommittedChanges* changes);
  // The key's state as of the writes before it in this batch.
  absl::StatusOr<KeyState> CurrentState(const std::string& key, int64_t now_unix, Overlay* overlay);
  // A commit (write_pipeline_commit.cc): decides it against the current state and returns its
  // change at `version`, or null when it failed (result->status) or changes nothing (no version
  // is used). `overlay` gets its writes only when it is returned.
  std::shared_ptr<kvstore::v1::Change> DecideCommit(const WriteOp& op, uint64_t version,
                                                    int64_t now_unix, Overlay* overlay,
                                                    WriteResult* result);
  // The value, metadata and expiration a live key holds now (for an add).
  absl::Status ReadCurrent(const std::string& key, const KeyState& state, kvstore::v1::Change* out);

  VersionedStore* const store_;
  Clock* const clock_;
  const WritePipelineOptions options_;

  mutable absl::Mutex mu_;
  std::deque<WriteOp> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status refusal_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // a batch is being committed
  uint64_t batches_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t writes_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread writer_;
};

}  // namespace kv::server

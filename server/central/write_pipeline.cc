#include "server/central/write_pipeline.h"

#include <chrono>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "server/node/limits.h"

namespace kv::server {

using kvstore::v1::Change;
namespace {

absl::Status ConditionFailed(const std::string& key, uint64_t expected, bool exists,
                             uint64_t current) {
  if (expected == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key ", QuotedKey(key), " already exists at version ", current,
        " (if_version=0 requires that it does not exist); current version: ", current));
  }
  if (!exists) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key ", QuotedKey(key), " does not exist (if_version=", expected, "); current version: 0"));
  }
  return absl::FailedPreconditionError(absl::StrCat("key ", QuotedKey(key), " is at version ",
                                                    current, ", not ", expected,
                                                    " (if_version); current version: ", current));
}

}  // namespace

size_t WriteOp::Bytes() const {
  size_t bytes = key.size() + value.size();
  if (commit != nullptr) bytes += commit->ByteSizeLong();
  return bytes;
}

WritePipeline::WritePipeline(VersionedStore* store, Clock* clock, WritePipelineOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  writer_ = std::thread([this] { Run(); });
}

WritePipeline::~WritePipeline() { Stop(); }

void WritePipeline::Submit(WriteOp op) {
  WriteResult result;
  {
    absl::MutexLock l(&mu_);
    if (!stopping_ && refusal_.ok()) {
      queue_.push_back(std::move(op));
      return;
    }
    result.status =
        stopping_ ? absl::UnavailableError("the central node is shutting down") : refusal_;
  }
  std::move(op.done)(result);
}

void WritePipeline::WaitIdle() {
  absl::MutexLock l(&mu_);
  mu_.Await(absl::Condition(
      +[](WritePipeline* p)
           ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return !p->busy_ && p->queue_.empty(); },
      this));
}

void WritePipeline::SetRefusal(absl::Status refusal) {
  absl::MutexLock l(&mu_);
  refusal_ = std::move(refusal);
}

void WritePipeline::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
}

uint64_t WritePipeline::batches() const {
  absl::MutexLock l(&mu_);
  return batches_;
}

uint64_t WritePipeline::writes() const {
  absl::MutexLock l(&mu_);
  return writes_;
}

void WritePipeline::Run() {
  std::vector<WriteOp> batch;
  for (;;) {
    batch.clear();
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](WritePipeline* p)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return !p->queue_.empty() || p->stopping_; },
          this));
      if (queue_.empty()) return;  // stopping, and everything queued has been committed
      size_t bytes = 0;
      while (!queue_.empty() && batch.size() < options_.max_batch_ops &&
             (batch.empty() || bytes < options_.max_batch_bytes)) {
        bytes += queue_.front().Bytes();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      busy_ = true;
    }
    CommitBatch(&batch);
    absl::MutexLock l(&mu_);
    busy_ = false;
  }
}

absl::Status WritePipeline::WriteBatchOf(const CommittedChanges& changes,
                                         const std::vector<Change*>& writable) {
  if (!options_.replicate) return store_->ApplyStamped(writable);
  // Stamped and encoded before the standbys see the changes (the stamps are part of them).
  auto prepared = store_->PrepareStamped(writable);
  if (!prepared.ok()) return prepared.status();
  if (absl::Status s = options_.replicate(changes);
      absl::IsUnavailable(s) || absl::IsResourceExhausted(s)) {
    return s;  // refused before anything was proposed (too few standbys, no disk space)
  } else if (!s.ok()) {
    // The standbys may hold the batch, and a new leader would commit it.
    return absl::AbortedError(absl::StrCat("the write's outcome is unknown: ", s.message()));
  }
  if (absl::Status written = store_->WritePrepared(prepared->get()); !written.ok()) {
    // The standbys hold it: not a definite failure, and its versions must never be reused.
    if (options_.abandon) options_.abandon(written);
    return absl::AbortedError(absl::StrCat(
        "the write's outcome is unknown: the leader could not write a batch its standbys hold (",
        written.message(), "); it steps down and a standby commits it"));
  }
  return absl::OkStatus();
}

absl::StatusOr<WritePipeline::KeyState> WritePipeline::CurrentState(const std::string& key,
                                                                    int64_t now_unix,
                                                                    Overlay* overlay) {
  if (auto it = overlay->find(key); it != overlay->end()) return it->second;
  PinnedRecord record;
  auto found = store_->Get(key, &record);
  if (!found.ok()) return found.status();
  KeyState state;
  // An expired key is absent to conditions too; kExpire looks at the raw record instead.
  state.exists = *found && !record.view.ExpiredAt(now_unix);
  state.version = *found ? record.view.version : 0;
  return state;
}

void WritePipeline::AddPut(WriteOp* op, uint64_t version, int64_t now_micros, Overlay* overlay,
                           WriteResult* result, std::vector<Change*>* writable,
                           CommittedChanges* changes) {
  auto change = std::make_shared<Change>();
  change->set_version(version);
  change->set_kind(Change::KIND_PUT);
  change->set_key(std::move(op->key));
  change->set_value(std::move(op->value));
  change->set_metadata(std::move(op->metadata));
  change->set_expiration(op->expiration);
  change->set_commit_unix_micros(now_micros);
  (*overlay)[change->key()] = KeyState{true, version, change.get()};
  result->version = version;
  result->applied = true;
  result->expiration = op->expiration;
  writable->push_back(change.get());
  changes->push_back(std::move(change));
}

void WritePipeline::CommitBatch(std::vector<WriteOp>* ops) {
  const int64_t started_micros = clock_->MonotonicMicros();
  const int64_t now_unix = clock_->UnixSeconds();
  const int64_t now_micros = clock_->UnixMicros();
  const uint64_t head = store_->head_version();
  uint64_t next = head + 1;

  std::vector<WriteResult> results(ops->size());
  CommittedChanges changes;
  changes.reserve(ops->size());
  // The same changes, writable until committed: the store stamps each with its checksum.
  std::vector<Change*> writable;
  writable.reserve(ops->size());
  Overlay overlay;

  for (size_t i = 0; i < ops->size(); ++i) {
    WriteOp& op = (*ops)[i];
    WriteResult& result = results[i];
    if (op.kind == WriteOp::Kind::kCommit) {
      auto change = DecideCommit(op, next, now_unix, &overlay, &result);
      if (change == nullptr) continue;
      change->set_commit_unix_micros(now_micros);
      writable.push_back(change.get());
      changes.push_back(std::move(change));
      ++next;
      continue;
    }
    if (op.kind == WriteOp::Kind::kPut && !op.if_version.has_value()) {
      // An unconditional Put is decided by nothing the key holds: no read here (the store reads
      // the record it replaces once, for the checksum).
      AddPut(&op, next, now_micros, &overlay, &result, &writable, &changes);
      ++next;
      continue;
    }
    auto state = CurrentState(op.key, now_unix, &overlay);
    if (!state.ok()) {
      result.status = state.status();
      continue;
    }
    uint64_t current = state->exists ? state->version : 0;
    if (op.kind == WriteOp::Kind::kExpire) {
      // The raw record (expired or not) must still be the write that expired.
      if (state->version != op.if_version.value_or(0) || state->version == 0) {
        result.status = absl::FailedPreconditionError("expired key was rewritten or deleted");
        continue;
      }
    } else if (op.if_version.has_value() && *op.if_version != current) {
      result.status = ConditionFailed(op.key, *op.if_version, state->exists, current);
      continue;
    }
    if (op.kind != WriteOp::Kind::kPut && state->version == 0) {
      result.version = head;  // nothing to delete; answered with the head it was judged at
      continue;
    }
    if (op.kind == WriteOp::Kind::kDelete && !state->exists) {
      // Expired but not yet swept: absent to the caller; the sweep will log the deletion.
      result.version = head;
      continue;
    }
    if (op.kind == WriteOp::Kind::kPut) {
      AddPut(&op, next, now_micros, &overlay, &result, &writable, &changes);
      ++next;
      continue;
    }
    auto change = std::make_shared<Change>();
    change->set_version(next);
    change->set_key(std::move(op.key));
    change->set_commit_unix_micros(now_micros);
    change->set_kind(Change::KIND_DELETE);
    overlay[change->key()] = KeyState{false, 0, nullptr};
    result.version = next;
    result.applied = true;
    writable.push_back(change.get());
    changes.push_back(std::move(change));
    ++next;
  }

  absl::Status committed = absl::OkStatus();
  bool refused = false;
  if (!changes.empty()) {
    committed = WriteBatchOf(changes, writable);
    // VersionedStore::Apply refuses with these codes only before writing anything.
    refused = absl::IsResourceExhausted(committed) || absl::IsUnavailable(committed);
    if (committed.ok()) {
      if (options_.on_commit) options_.on_commit(changes);
      if (options_.may_acknowledge) committed = options_.may_acknowledge();
    } else if (refused) {
      KV_LOG(DEBUG) << "group commit of " << changes.size() << " writes refused: " << committed;
    } else {
      KV_LOG(ERROR) << "group commit of " << changes.size() << " writes failed: " << committed;
    }
  }
  double seconds = (clock_->MonotonicMicros() - started_micros) / 1e6;
  if (options_.on_batch) options_.on_batch(ops->size(), seconds);
  {
    absl::MutexLock l(&mu_);
    ++batches_;
    writes_ += changes.size();
  }
  for (size_t i = 0; i < ops->size(); ++i) {
    WriteResult& result = results[i];
    if (!committed.ok() && result.status.ok() && result.applied) {
      if (refused || absl::IsAborted(committed)) {
        // Refused before anything was written (no disk space, storage stopped): a definite
        // failure the caller may retry later. ABORTED: the leader lost its standbys or its
        // lease, and its message says the outcome is unknown.
        result.status = committed;
      } else {
        // A failed synced write may still be in the WAL and reappear after a restart: the
        // caller must treat the outcome as unknown.
        result.status = absl::InternalError(
            absl::StrCat("storage failure, the write's outcome is unknown: ", committed.message()));
      }
      result.applied = false;
      result.version = 0;
    }
    std::move((*ops)[i].done)(result);
  }
}

}  // namespace kv::server

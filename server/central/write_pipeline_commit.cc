// WritePipeline: deciding an atomic commit (KV.Commit) on the commit thread.
#include "absl/strings/str_cat.h"
#include "common/counter.h"
#include "server/central/write_pipeline.h"
#include "server/node/limits.h"

namespace kv::server {

using kvstore::v1::Change;
using kvstore::v1::CommitMutation;

namespace {

absl::Status CheckFailed(const kvstore::v1::CommitCheck& check, const bool exists,
                         uint64_t current) {
  std::string wanted =
      check.absent() ? "to be absent" : absl::StrCat("at version ", check.version());
  std::string found = exists ? absl::StrCat("is at version ", current) : "does not exist";
  return absl::FailedPreconditionError(absl::StrCat("check failed: key ", QuotedKey(check.key()),
                                                    " ", found, " (the commit wanted it ", wanted,
                                                    "); current version: ", exists ? current : 0));
}

}  // namespace

absl::Status WritePipeline::ReadCurrent(const std::string& key, const KeyState& state,
                                        Change* out) {
  if (state.written != nullptr) {
    out->set_value(state.written->value());
    out->set_metadata(state.written->metadata());
    out->set_expiration(state.written->expiration());
    return absl::OkStatus();
  }
  PinnedRecord record;
  auto found = store_->Get(key, &record);
  if (!found.ok()) return found.status();
  if (!*found) return absl::InternalError("a live key has no record");
  out->set_value(record.view.value.data(), record.view.value.size());
  out->set_metadata(record.view.metadata.data(), record.view.metadata.size());
  out->set_expiration(record.view.expiration);
  return absl::OkStatus();
}

std::shared_ptr<Change> WritePipeline::DecideCommit(const WriteOp& op, uint64_t version,
                                                    int64_t now_unix, Overlay* overlay,
                                                    WriteResult* result) {
  const kvstore::v1::CommitRequest& request = *op.commit;
  for (const auto& check : request.checks()) {
    auto state = CurrentState(check.key(), now_unix, overlay);
    if (!state.ok()) {
      result->status = state.status();
      return nullptr;
    }
    bool holds =
        check.absent() ? !state->exists : state->exists && state->version == check.version();
    if (!holds) {
      result->status = CheckFailed(check, state->exists, state->version);
      return nullptr;
    }
  }
  auto change = std::make_shared<Change>();
  change->set_version(version);
  change->set_kind(Change::KIND_COMMIT);
  // The commit's writes, moved into the overlay only if all of it is decided.
  Overlay writes;
  for (int i = 0; i < request.mutations_size(); ++i) {
    const CommitMutation& m = request.mutations(i);
    const std::string& key = CommitMutationKey(m);
    if (m.has_put()) {
      // A put does not depend on the key's state: no read (bulk loads are mostly puts).
      Change* part = change->add_parts();
      part->set_kind(Change::KIND_PUT);
      part->set_key(key);
      part->set_value(m.put().value());
      part->set_metadata(m.put().metadata());
      part->set_expiration(op.commit_expirations[i]);
      writes[key] = KeyState{true, version, part};
      continue;
    }
    auto state = CurrentState(key, now_unix, overlay);
    if (!state.ok()) {
      result->status = state.status();
      return nullptr;
    }
    if (m.has_delete_()) {
      // An absent (or expired, not yet swept) key: nothing to delete; the sweep logs the rest.
      if (!state->exists) continue;
      Change* part = change->add_parts();
      part->set_kind(Change::KIND_DELETE);
      part->set_key(key);
      writes[key] = KeyState{false, 0, nullptr};
      continue;
    }
    Change* part = change->add_parts();
    part->set_kind(Change::KIND_PUT);
    part->set_key(key);
    // An add: the counter's current value (absent = 0), plus delta.
    uint64_t counter = 0;
    if (state->exists) {
      if (auto s = ReadCurrent(key, *state, part); !s.ok()) {
        result->status = s;
        return nullptr;
      }
      if (part->value().size() != kCounterBytes) {
        result->status = absl::FailedPreconditionError(absl::StrCat(
            "add to key ", QuotedKey(key), ": its value is ", part->value().size(),
            " bytes, not an 8-byte little-endian counter; current version: ", state->version));
        return nullptr;
      }
      counter = DecodeCounterBytes(part->value());
    }
    // Two's complement, wrapping (unsigned arithmetic is defined to).
    counter += static_cast<uint64_t>(m.add().delta());
    part->set_value(EncodeCounterBytes(counter));
    result->counters.push_back(static_cast<int64_t>(counter));
    writes[key] = KeyState{true, version, part};
  }
  if (change->parts_size() == 0) {
    result->version = store_->head_version();  // nothing changed: judged at the head
    return nullptr;
  }
  for (auto& [key, state] : writes) (*overlay)[key] = state;
  result->version = version;
  result->applied = true;
  return change;
}

}  // namespace kv::server

#include "replication/stream_receiver.h"

#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "replication/chain.h"

namespace kv::replication {

using kvstore::v1::Change;

StreamReceiver::StreamReceiver(ChangeApplier* applier, HeadFollower* head,
                               FreshnessTracker* freshness, uint64_t from_version,
                               std::function<void(uint64_t)> on_applied, std::string self_node_id)
    : applier_(applier),
      head_(head),
      freshness_(freshness),
      from_version_(from_version),
      on_applied_(std::move(on_applied)),
      self_node_id_(std::move(self_node_id)) {}

absl::Status StreamReceiver::Handle(kvstore::v1::UpstreamMessage* message) {
  if (message->has_reset()) {
    reset_ = message->reset();
    return absl::AbortedError(absl::StrCat("RESET: ", reset_.reason()));
  }
  if (message->has_start()) {
    if (started_) return absl::DataLossError("a second stream start on one stream");
    if (auto s = HandleStart(message->start()); !s.ok()) return s;
  }
  if (!started_) return absl::DataLossError("the upstream sent data before the stream start");
  if (message->changes_size() > 0) {
    if (auto s = HandleChanges(message); !s.ok()) return s;
  }
  if (message->has_pong()) {
    const auto& pong = message->pong();
    freshness_->OnPong(pong.t0_micros(), pong.head_version(), pong.upstream_staleness_micros(),
                       applier_->visible_version());
  }
  return absl::OkStatus();
}

absl::Status StreamReceiver::HandleStart(const kvstore::v1::StreamStart& start) {
  if (!self_node_id_.empty()) {
    std::vector<std::string> chain(start.chain().begin(), start.chain().end());
    if (absl::Status s = CheckNoCycle(self_node_id_, chain); !s.ok()) return s;
  }
  if (absl::Status s = applier_->CheckStart(start); !s.ok()) return s;
  started_ = true;
  start_ = start;
  if (from_version_ == 0) {
    // Starting over: this node holds nothing, so it is "at" the upstream's head.
    if (head_ == nullptr) {
      return absl::InternalError("a downstream that holds every key cannot start at the head");
    }
    if (auto s = head_->StartFrom(start.head_version(), start.cluster_id()); !s.ok()) return s;
    if (auto s = applier_->SetHistoryId(start.history_id()); !s.ok()) return s;
    freshness_->DropPending();
    if (on_applied_) on_applied_(applier_->applied_version());
    return absl::OkStatus();
  }
  if (!applier_->cluster_id().empty() && !start.cluster_id().empty() &&
      start.cluster_id() != applier_->cluster_id()) {
    return absl::DataLossError(absl::StrCat("the upstream serves cluster ", start.cluster_id(),
                                            ", this node holds cluster ", applier_->cluster_id()));
  }
  // The upstream RESETs a downstream of another history; this guards against one that did
  // not. Versions of two histories name different writes: begin again as after a RESET.
  const std::string held = applier_->history_id();
  if (!held.empty() && !start.history_id().empty() && held != start.history_id()) {
    reset_.Clear();
    reset_.set_head_version(start.head_version());
    reset_.set_oldest_version(start.oldest_version());
    reset_.set_cluster_id(start.cluster_id());
    reset_.set_history_id(start.history_id());
    reset_.set_reason(absl::StrCat("the upstream serves history ", start.history_id(),
                                   ", this node's data is from history ", held));
    return absl::AbortedError(absl::StrCat("RESET: ", reset_.reason()));
  }
  // Data from before history ids: continuing this stream makes it this history's.
  if (held.empty() && !start.history_id().empty()) {
    if (auto s = applier_->SetHistoryId(start.history_id()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

namespace {

bool IsKeyChange(Change::Kind kind) {
  return kind == Change::KIND_PUT || kind == Change::KIND_DELETE || kind == Change::KIND_INVALIDATE;
}

}  // namespace

absl::Status CheckChangeShape(const Change& c) {
  if (c.kind() == Change::KIND_COMMIT) {
    if (c.parts_size() == 0) {
      return absl::DataLossError(absl::StrCat("commit ", c.version(), " has no parts"));
    }
    absl::flat_hash_set<absl::string_view> keys;
    for (const Change& part : c.parts()) {
      if (part.key().empty() || !IsKeyChange(part.kind()) || part.parts_size() != 0) {
        return absl::DataLossError(absl::StrCat(
            "commit ", c.version(), " has a part with an empty key or a kind ", part.kind()));
      }
      if (!keys.insert(part.key()).second) {
        return absl::DataLossError(
            absl::StrCat("commit ", c.version(), " changes one key in two parts"));
      }
    }
    return absl::OkStatus();
  }
  if (c.key().empty()) {
    return absl::DataLossError(absl::StrCat("change ", c.version(), " has an empty key"));
  }
  if (!IsKeyChange(c.kind())) {
    return absl::DataLossError(
        absl::StrCat("change ", c.version(), " has an unknown kind ", c.kind()));
  }
  return absl::OkStatus();
}

absl::Status StreamReceiver::HandleChanges(kvstore::v1::UpstreamMessage* message) {
  // Check the whole batch before applying any of it: all or nothing.
  uint64_t expected = applier_->applied_version() + 1;
  for (const Change& c : message->changes()) {
    if (expected == 0) {
      // Past the last uint64 version (only a hostile upstream's start or snapshot gets here).
      return absl::DataLossError("stream versions would wrap around past 2^64 - 1");
    }
    if (c.version() != expected) {
      return absl::DataLossError(absl::StrCat("stream out of order: expected version ", expected,
                                              ", got ", c.version(),
                                              "; nothing of this batch was applied"));
    }
    if (auto s = CheckChangeShape(c); !s.ok()) return s;
    ++expected;
  }
  std::vector<std::shared_ptr<const Change>> batch;
  batch.reserve(message->changes_size());
  for (Change& c : *message->mutable_changes()) {
    batch.push_back(std::make_shared<const Change>(std::move(c)));
  }
  if (auto s = applier_->Apply(batch); !s.ok()) return s;
  changes_applied_ += batch.size();
  ++batches_applied_;
  uint64_t applied = applier_->applied_version();
  freshness_->OnApplied(applier_->visible_version());
  if (on_applied_) on_applied_(applied);
  return absl::OkStatus();
}

}  // namespace kv::replication

#include "server/ha/standby_applier.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace kv::server {

using kvstore::v1::Change;

StandbyApplier::StandbyApplier(VersionedStore* store, FullEdgeApplier* inner)
    : store_(store), inner_(inner) {
  held_.store(store->head_version());
}

absl::StatusOr<uint64_t> StandbyApplier::Validate(uint64_t epoch, const EpochStarts& starts) {
  epoch_ = epoch;
  pending_.clear();
  auto held = store_->ReadPending();
  if (!held.ok()) return held.status();
  std::vector<std::shared_ptr<const Change>> committed;
  uint64_t expected = store_->head_version() + 1;
  uint64_t drop_from = UINT64_MAX;
  for (const PendingChange& p : *held) {
    const uint64_t v = p.change->version();
    if (v != expected) {  // a hole: nothing after it can be used
      drop_from = v;
      break;
    }
    if (p.epoch == epoch) {
      pending_.push_back(p.change);
    } else {
      // Proposed in an older epoch: part of the history only below the next epoch's start.
      auto next = starts.upper_bound(p.epoch);
      if (p.epoch > epoch || (next != starts.end() && v >= next->second) || !pending_.empty()) {
        drop_from = v;
        break;
      }
      committed.push_back(p.change);
    }
    ++expected;
  }
  if (drop_from != UINT64_MAX) {
    KV_LOG(WARN) << "standby: dropping pending changes from version " << drop_from
                 << " (proposed by a leader whose epoch ended before they were committed)";
  }
  if (!committed.empty()) {
    if (auto s = inner_->Apply(committed); !s.ok()) return s;
    KV_LOG(INFO) << "standby: applied " << committed.size()
                 << " pending changes an earlier leader committed, up to version "
                 << committed.back()->version();
  }
  if (auto s = store_->DropPending(drop_from); !s.ok()) return s;
  held_.store(pending_.empty() ? store_->head_version() : pending_.back()->version());
  return held_.load();
}

absl::Status StandbyApplier::Apply(const std::vector<std::shared_ptr<const Change>>& changes) {
  if (changes.empty()) return absl::OkStatus();
  if (changes.front()->version() != held_.load() + 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "standby: change ", changes.front()->version(), " does not follow ", held_.load()));
  }
  if (auto s = store_->PutPending(changes, epoch_); !s.ok()) return s;
  pending_.insert(pending_.end(), changes.begin(), changes.end());
  held_.store(changes.back()->version());
  return absl::OkStatus();
}

absl::Status StandbyApplier::CheckStart(const kvstore::v1::StreamStart& start) {
  if (start.epoch() == epoch_ && epoch_ != 0) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("standby: node ", start.node_id(), " serves epoch ", start.epoch(),
                   ", but this standby prepared to follow the leader of epoch ", epoch_,
                   "; waiting for etcd to name the leader"));
}

absl::Status StandbyApplier::OnCommitted(uint64_t version) { return ApplyPendingThrough(version); }

absl::Status StandbyApplier::ApplyPendingThrough(uint64_t version) {
  size_t n = 0;
  while (n < pending_.size() && pending_[n]->version() <= version) ++n;
  if (n == 0) return absl::OkStatus();
  std::vector<std::shared_ptr<const Change>> batch(pending_.begin(), pending_.begin() + n);
  if (auto s = inner_->Apply(batch); !s.ok()) return s;
  pending_.erase(pending_.begin(), pending_.begin() + n);
  // The applied ones are garbage now; a crash before this only leaves them to be skipped.
  return store_->ForgetPending(batch.front()->version(), batch.back()->version());
}

absl::Status StandbyApplier::CommitAllPending() {
  if (auto s = ApplyPendingThrough(UINT64_MAX); !s.ok()) return s;
  held_.store(store_->head_version());
  return absl::OkStatus();
}

absl::Status StandbyApplier::BeginSnapshot() {
  pending_.clear();
  if (auto s = store_->DropPending(0); !s.ok()) return s;
  return inner_->BeginSnapshot();
}

absl::Status StandbyApplier::FinishSnapshot(uint64_t version, const std::string& cluster_id) {
  if (auto s = inner_->FinishSnapshot(version, cluster_id); !s.ok()) return s;
  held_.store(store_->head_version());
  return absl::OkStatus();
}

}  // namespace kv::server

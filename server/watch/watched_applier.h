#pragma once
// A ChangeApplier that hands every batch its inner applier took to a WatchHub, so a node whose
// applier knows nothing of watchers (a cache edge's CacheStore) feeds them from its stream. A
// batch the inner applier refuses is not handed on.
//
// Threading and ownership: as the inner applier (the Subscriber's thread); both pointers must
// outlive it.

#include <memory>
#include <string>
#include <vector>

#include "replication/change_applier.h"
#include "server/watch/watch_hub.h"

namespace kv::server {

class WatchedApplier final : public replication::ChangeApplier {
 public:
  WatchedApplier(replication::ChangeApplier* inner, WatchHub* hub) : inner_(inner), hub_(hub) {}

  uint64_t applied_version() const override { return inner_->applied_version(); }
  std::string cluster_id() const override { return inner_->cluster_id(); }
  std::string history_id() const override { return inner_->history_id(); }
  absl::Status SetHistoryId(const std::string& history_id) override {
    return inner_->SetHistoryId(history_id);
  }
  absl::Status Apply(
      const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes) override {
    if (auto s = inner_->Apply(changes); !s.ok()) return s;
    hub_->Append(changes);
    return absl::OkStatus();
  }

 private:
  replication::ChangeApplier* const inner_;
  WatchHub* const hub_;
};

}  // namespace kv::server

#include "server/edge/full_edge_applier.h"

#include "absl/strings/str_cat.h"
#include "common/reserved_keys.h"
#include "server/storage/cluster_data.h"

namespace kv::server {

using kvstore::v1::Change;

bool FullEdgeApplier::NeedsBootstrap() const {
  return store_->snapshot_incomplete() || store_->cluster_id().empty();
}

absl::Status FullEdgeApplier::Apply(const std::vector<std::shared_ptr<const Change>>& changes) {
  std::vector<const Change*> pointers;
  pointers.reserve(changes.size());
  for (const auto& c : changes) pointers.push_back(c.get());
  if (auto s = store_->Apply(pointers); !s.ok()) return s;
  publisher_->Append(changes);
  if (on_cluster_data_) {
    for (const auto& c : changes) {
      if (IsReservedKey(c->key())) on_cluster_data_(*c, /*restart=*/false);
    }
  }
  if (fetcher_ != nullptr) {
    for (const auto& c : changes) {
      if (c->kind() == Change::KIND_INVALIDATE) fetcher_->Enqueue(c->key(), c->version());
    }
  }
  return absl::OkStatus();
}

absl::Status FullEdgeApplier::BeginSnapshot() { return store_->BeginSnapshotInstall(); }

absl::Status FullEdgeApplier::ApplySnapshotChunk(const kvstore::v1::SnapshotChunk& chunk) {
  std::vector<const kvstore::v1::Entry*> entries, missing;
  for (const auto& e : chunk.entries()) entries.push_back(&e);
  for (const auto& e : chunk.missing_values()) missing.push_back(&e);
  if (auto s = store_->InstallSnapshotEntries(entries, missing); !s.ok()) {
    // RESOURCE_EXHAUSTED: the snapshot does not fit above --min-free-disk. Nothing of this
    // chunk was written; the Subscriber backs off and takes the snapshot again later.
    return absl::Status(s.code(), absl::StrCat("installing the snapshot: ", s.message()));
  }
  if (fetcher_ != nullptr) {
    for (const auto* e : missing) fetcher_->Enqueue(e->key(), e->version());
  }
  return absl::OkStatus();
}

absl::Status FullEdgeApplier::FinishSnapshot(uint64_t version, const std::string& cluster_id) {
  if (auto s = store_->FinishSnapshotInstall(version, cluster_id); !s.ok()) return s;
  // A snapshot may begin another history: what it holds replaces what was known.
  if (auto s = ReportClusterData(*store_, on_cluster_data_,
                                 /*restart=*/true);
      !s.ok()) {
    return s;
  }
  // Edges below this one were following the old history: they must start over from here.
  publisher_->Rebase(cluster_id, version);
  return absl::OkStatus();
}

}  // namespace kv::server

#include "server/edge/full_edge_applier.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/reserved_keys.h"
#include "replication/change_parts.h"
#include "server/storage/cluster_data.h"

namespace kv::server {

using kvstore::v1::Change;

namespace {

std::string Hex(uint64_t v) { return absl::StrCat(absl::Hex(v, absl::kZeroPad16)); }

}  // namespace

bool FullEdgeApplier::NeedsBootstrap() const {
  return store_->snapshot_incomplete() || store_->cluster_id().empty() || diverged_.load();
}

std::string FullEdgeApplier::last_mismatch() const {
  absl::MutexLock l(&mu_);
  return last_mismatch_;
}

void FullEdgeApplier::ReportMismatch(const std::string& what) {
  mismatches_.fetch_add(1);
  {
    absl::MutexLock l(&mu_);
    last_mismatch_ = what;
  }
  if (!diverged_.exchange(true)) {
    KV_LOG(ERROR) << what << "; serving no local reads and resynchronising by a snapshot";
  }
}

absl::Status FullEdgeApplier::VerifyStoredData() {
  if (store_->snapshot_incomplete() || store_->cluster_id().empty()) return absl::OkStatus();
  auto scan = store_->ScanChecksum();
  if (!scan.ok()) return scan.status();
  if (scan->recomputed != scan->persisted) {
    ReportMismatch(absl::StrCat("checksum mismatch at open: the ", scan->records,
                                " records at version ", scan->version, " sum to ",
                                Hex(scan->recomputed), ", the running checksum is ",
                                Hex(scan->persisted), " (the data changed on disk)"));
    return absl::OkStatus();
  }
  ChecksumState state = store_->checksum_state();
  if (state.central_known && state.central != state.checksum) {
    ReportMismatch(absl::StrCat("checksum mismatch at open: ", Hex(state.checksum), " at version ",
                                state.version, ", the central node's is ", Hex(state.central)));
  }
  return absl::OkStatus();
}

absl::Status FullEdgeApplier::WriteToStore(const std::vector<const Change*>& changes) {
  if (hot_cache_ == nullptr) return store_->Apply(changes);
  // Every cached key updated to its new record (or out of the cache), and its stripe closed to
  // readers' offers, before the store's head moves; reopened once the store holds the batch.
  std::vector<HotReadCache::KeyChange> key_changes;
  key_changes.reserve(changes.size());
  for (const Change* change : changes) {
    replication::ForEachKeyChange(*change, [&key_changes](const Change& c, uint64_t version) {
      key_changes.push_back({&c, version});
    });
  }
  hot_cache_->BeginChanges(key_changes);
  absl::Status s = store_->Apply(changes);
  hot_cache_->EndChanges(/*written=*/s.ok());
  return s;
}

absl::Status FullEdgeApplier::Apply(const std::vector<std::shared_ptr<const Change>>& changes) {
  std::vector<const Change*> pointers;
  pointers.reserve(changes.size());
  for (const auto& c : changes) pointers.push_back(c.get());
  if (auto s = WriteToStore(pointers); !s.ok()) return s;
  publisher_->Append(changes);
  if (watch_hub_ != nullptr) watch_hub_->Append(changes);
  // The batch is the central node's and is relayed as it came; only this node's copy is suspect.
  if (ChecksumState state = store_->checksum_state();
      state.central_known && state.central != state.checksum) {
    std::string what =
        absl::StrCat("checksum mismatch after version ", state.version, ": this node's is ",
                     Hex(state.checksum), ", the central node's is ", Hex(state.central));
    ReportMismatch(what);
    return absl::InternalError(what);
  }
  if (on_cluster_data_) {
    for (const auto& c : changes) {
      if (IsReservedKey(c->key())) on_cluster_data_(*c, /*restart=*/false);
    }
  }
  if (fetcher_ != nullptr) {
    for (const auto& change : changes) {
      replication::ForEachKeyChange(*change, [this](const Change& c, uint64_t version) {
        if (c.kind() == Change::KIND_INVALIDATE) fetcher_->Enqueue(c.key(), version);
      });
    }
  }
  return absl::OkStatus();
}

absl::Status FullEdgeApplier::BeginSnapshot() {
  // The cache is emptied and closed to offers until the install finishes (a retried snapshot
  // begins again without finishing: it stays closed).
  if (hot_cache_ != nullptr && !resetting_) {
    hot_cache_->BeginReset();
    resetting_ = true;
  }
  return store_->BeginSnapshotInstall();
}

absl::Status FullEdgeApplier::ApplySnapshotChunk(const kvstore::v1::SnapshotChunk& chunk) {
  std::vector<const kvstore::v1::Entry*> entries, missing;
  for (const auto& e : chunk.entries()) entries.push_back(&e);
  for (const auto& e : chunk.missing_values()) missing.push_back(&e);
  std::vector<uint64_t> hashes(chunk.missing_value_hashes().begin(),
                               chunk.missing_value_hashes().end());
  store_->SetSnapshotCentralChecksum(chunk.has_checksum() ? std::optional(chunk.checksum())
                                                          : std::nullopt);
  if (auto s = store_->InstallSnapshotEntries(entries, missing, hashes); !s.ok()) {
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
  if (resetting_) {  // the store holds the snapshot: readers may fill the cache from it again
    hot_cache_->EndReset();
    resetting_ = false;
  }
  // Edges below this one were following the old history: they must start over from here. At
  // once, before anything else can fail: the store's head is the snapshot's now, and a publisher
  // left behind it would hold every downstream's pong (they name the readable head) for good.
  publisher_->Rebase(cluster_id, version);
  if (watch_hub_ != nullptr) {
    watch_hub_->Rebase(
        version, absl::StrCat("this node re-synchronised from a snapshot at version ", version));
  }
  // A snapshot may begin another history: what it holds replaces what was known.
  if (auto s = ReportClusterData(*store_, on_cluster_data_,
                                 /*restart=*/true);
      !s.ok()) {
    return s;
  }
  if (ChecksumState state = store_->checksum_state();
      state.central_known && state.central != state.checksum) {
    // The snapshot does not add up to the checksum it came with: take it again.
    std::string what = absl::StrCat("checksum mismatch in the snapshot at version ", version,
                                    ": its entries sum to ", Hex(state.checksum), ", it carried ",
                                    Hex(state.central));
    diverged_.store(false);  // logged again: this is a new finding
    ReportMismatch(what);
    return absl::DataLossError(what);
  }
  if (diverged_.exchange(false)) {
    KV_LOG(INFO) << "resynchronised by a snapshot at version " << version
                 << ": the checksum matches the central node's again";
  }
  return absl::OkStatus();
}

}  // namespace kv::server

// CacheStore's cluster data: the reserved keys a cache edge keeps apart from its cache.

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/reserved_keys.h"
#include "server/edge/cache_store.h"

namespace kv::server {
namespace {

constexpr char kMetaClusterDataPrefix[] = "cluster_data/";

}  // namespace

absl::Status CacheStore::LoadClusterData() {
  mu_.AssertHeld();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[0]));
  for (it->Seek(kMetaClusterDataPrefix);
       it->Valid() && it->key().starts_with(kMetaClusterDataPrefix); it->Next()) {
    kvstore::v1::Change change;
    if (!change.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())) ||
        !IsReservedKey(change.key())) {
      return absl::DataLossError(
          absl::StrCat("corrupt cluster data in the cache store: ", it->key().ToString()));
    }
    std::string key = change.key();
    pinned_[key] = PinnedChange{std::move(change), epoch_};
  }
  if (!it->status().ok()) {
    return absl::InternalError(absl::StrCat("loading cluster data: ", it->status().ToString()));
  }
  return absl::OkStatus();
}

absl::Status CacheStore::PinLocked(const kvstore::v1::Change& change) {
  mu_.AssertHeld();
  pinned_[change.key()] = PinnedChange{change, epoch_};
  if (!db_) return absl::OkStatus();  // in memory only
  rocksdb::WriteBatch batch;
  batch.Put(handles_[0], absl::StrCat(kMetaClusterDataPrefix, change.key()),
            change.SerializeAsString());
  rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return absl::InternalError(absl::StrCat("persisting cluster data: ", s.ToString()));
  return absl::OkStatus();
}

std::vector<kvstore::v1::Change> CacheStore::ClusterData() const {
  absl::MutexLock l(&mu_);
  std::vector<kvstore::v1::Change> out;
  for (const auto& [key, pinned] : pinned_) out.push_back(pinned.change);
  return out;
}

uint64_t CacheStore::epoch() const {
  absl::MutexLock l(&mu_);
  return epoch_;
}

bool CacheStore::NeedsClusterData() const {
  absl::MutexLock l(&mu_);
  auto it = pinned_.find(kKeySetKey);
  return it == pinned_.end() || it->second.epoch < epoch_;
}

bool CacheStore::PinClusterData(const kvstore::v1::Change& change, uint64_t epoch, bool* restart) {
  absl::MutexLock l(&mu_);
  if (epoch != epoch_) return false;  // fetched before another start at the head
  auto it = pinned_.find(change.key());
  if (it == pinned_.end() || it->second.epoch < epoch_) {
    *restart = true;
  } else if (change.version() > it->second.change.version()) {
    *restart = false;
  } else {
    return false;  // the stream brought this version or a newer one already
  }
  if (auto s = PinLocked(change); !s.ok()) {
    KV_LOG(ERROR) << s;
    return false;
  }
  return true;
}

}  // namespace kv::server

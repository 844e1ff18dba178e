// A standby central node's proposed changes (docs/ha.md, "Standbys"): the leader sends each
// batch before it commits it, and the standby keeps it here, synced, until the leader says it
// is committed; only then is it applied to the data (so no reader ever sees a version that a
// failover could lose). They live in the meta family under "pending/" + big-endian version,
// each value the leader's epoch (8 bytes, big-endian) followed by the serialised Change.

#include <algorithm>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/slice.h"
#include "replication/change_log.h"
#include "server/storage/versioned_store.h"

namespace kv::server {
namespace {

constexpr char kPendingPrefix[] = "pending/";

std::string PendingKey(uint64_t version) {
  return absl::StrCat(kPendingPrefix, replication::EncodeVersionKey(version));
}

}  // namespace

absl::Status VersionedStore::PutPending(
    const std::vector<std::shared_ptr<const kvstore::v1::Change>>& changes, uint64_t epoch) {
  rocksdb::WriteBatch batch;
  for (const auto& change : changes) {
    std::string value = replication::EncodeVersionKey(epoch);
    if (!change->AppendToString(&value)) return absl::InternalError("cannot serialize a change");
    batch.Put(meta_cf_, PendingKey(change->version()), value);
  }
  absl::MutexLock l(&write_mu_);
  return Write(&batch, DiskReserve::Kind::kWrite, Sync::kAlways);
}

absl::StatusOr<std::vector<PendingChange>> VersionedStore::ReadPending() const {
  std::vector<PendingChange> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_cf_));
  const uint64_t head = head_version();
  for (it->Seek(PendingKey(head + 1)); it->Valid(); it->Next()) {
    absl::string_view key = ToView(it->key());
    if (!absl::StartsWith(key, kPendingPrefix)) break;
    absl::string_view value = ToView(it->value());
    PendingChange p;
    auto change = std::make_shared<kvstore::v1::Change>();
    if (value.size() < 8 || !replication::DecodeVersionKey(value.substr(0, 8), &p.epoch) ||
        !change->ParseFromArray(value.data() + 8, static_cast<int>(value.size() - 8))) {
      return absl::DataLossError("a pending change of this standby is corrupt");
    }
    p.change = std::move(change);
    out.push_back(std::move(p));
  }
  if (!it->status().ok()) {
    return absl::InternalError(absl::StrCat("reading pending changes: ", it->status().ToString()));
  }
  return out;
}

absl::Status VersionedStore::DropPending(uint64_t from_version) {
  rocksdb::WriteBatch batch;
  const uint64_t head = head_version();
  batch.DeleteRange(meta_cf_, PendingKey(0), PendingKey(head + 1));
  if (from_version != UINT64_MAX) {
    std::string end = kPendingPrefix;
    end.back() += 1;  // "pending0": just past every pending key
    batch.DeleteRange(meta_cf_, PendingKey(std::max(from_version, head + 1)), end);
  }
  absl::MutexLock l(&write_mu_);
  return Write(&batch, DiskReserve::Kind::kReclaim, Sync::kAlways);
}

absl::Status VersionedStore::ForgetPending(uint64_t first, uint64_t last) {
  rocksdb::WriteBatch batch;
  for (uint64_t v = first; v <= last && v != 0; ++v) batch.Delete(meta_cf_, PendingKey(v));
  absl::MutexLock l(&write_mu_);
  return Write(&batch, DiskReserve::Kind::kReclaim, Sync::kNever);
}

}  // namespace kv::server

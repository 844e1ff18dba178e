#include "server/storage/versioned_store.h"

#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/slice.h"
#include "replication/change_parts.h"
#include "replication/checksum.h"
#include "rocksdb/convenience.h"
#include "server/storage/history_id.h"
#include "server/storage/rocks_options.h"

namespace kv::server {

using kvstore::v1::Change;
using kvstore::v1::Entry;
namespace {

using replication::DecodeVersionKey;
using replication::EncodeVersionKey;

constexpr char kMetaHead[] = "head_version";
constexpr char kMetaClusterId[] = "cluster_id";
constexpr char kMetaSnapshotIncomplete[] = "snapshot_incomplete";
// The dataset checksums at the head version (replication/checksum.h), big-endian.
constexpr char kMetaChecksum[] = "checksum";
constexpr char kMetaCentralChecksum[] = "central_checksum";
constexpr char kMetaHistoryId[] = "history_id";

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", s.ToString()));
}

// A stored record's term: a missing value counts through the hash it travelled with.
uint64_t StoredTerm(absl::string_view key, const RecordView& view) {
  return replication::RecordTerm(
      key, view.version, view.expiration, view.metadata,
      view.value_missing ? view.value_hash : replication::ValueHash(view.value));
}

// The term of the record a put or invalidation leaves at `version`.
uint64_t ChangeTerm(const Change& c, uint64_t version) {
  return replication::RecordTerm(
      c.key(), version, c.expiration(), c.metadata(),
      c.kind() == Change::KIND_INVALIDATE ? c.value_hash() : replication::ValueHash(c.value()));
}

std::string ExpiryKey(int64_t expiration, absl::string_view key) {
  std::string k = EncodeVersionKey(static_cast<uint64_t>(expiration));
  k.append(key.data(), key.size());
  return k;
}

}  // namespace

SnapshotCursor::~SnapshotCursor() {
  if (snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
}

absl::StatusOr<bool> SnapshotCursor::Next(size_t max_bytes, int64_t now_unix,
                                          std::vector<Entry>* entries, std::vector<Entry>* missing,
                                          std::vector<uint64_t>* missing_hashes) {
  if (done_) return false;
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  options.fill_cache = false;  // a snapshot reads everything once: keep the cache for reads
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, cf_));
  if (!started_) {
    it->SeekToFirst();
    started_ = true;
  } else {
    it->Seek(last_key_);
    if (it->Valid() && it->key() == rocksdb::Slice(last_key_)) it->Next();
  }
  // A chunk closes before an entry that would take it past max_bytes (an entry alone may fill
  // one): closing after it would let one maximal value push a chunk over the gRPC limit.
  size_t bytes = 0;
  while (it->Valid()) {
    const size_t entry_bytes = it->key().size() + it->value().size();
    if (bytes + entry_bytes > max_bytes && !(entries->empty() && missing->empty())) break;
    RecordView view;
    if (!DecodeRecord(ToView(it->value()), &view)) {
      return absl::DataLossError(
          absl::StrCat("corrupt record for key '", absl::CHexEscape(ToView(it->key())), "'"));
    }
    // Expired records travel too (now_unix is not needed): they count in the checksum until
    // the central node's deletion of them arrives, and every read judges expiry itself.
    {
      Entry* e = view.value_missing ? &missing->emplace_back() : &entries->emplace_back();
      e->set_key(it->key().data(), it->key().size());
      if (!view.value_missing) e->set_value(view.value.data(), view.value.size());
      if (view.value_missing && missing_hashes != nullptr) {
        missing_hashes->push_back(view.value_hash);
      }
      e->set_metadata(view.metadata.data(), view.metadata.size());
      e->set_version(view.version);
      e->set_expiration(view.expiration);
      bytes += entry_bytes;
    }
    last_key_.assign(it->key().data(), it->key().size());
    it->Next();
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the snapshot");
  done_ = !it->Valid();
  return !done_;
}

absl::StatusOr<std::unique_ptr<VersionedStore>> VersionedStore::Open(const StoreOptions& options) {
  std::unique_ptr<VersionedStore> store(new VersionedStore());
  store->options_ = options;

  RocksOptions rocks = MakeRocksOptions(options, nullptr);
  store->health_ = std::make_shared<StorageHealth>(rocks.max_write_buffer_bytes);
  rocks.db.listeners.push_back(store->health_);
  DiskReserveOptions disk = options.disk;
  VersionedStore* self = store.get();
  disk.unflushed_bytes = [self] {
    uint64_t bytes = 0;
    if (self->db_ != nullptr) {
      self->db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &bytes);
    }
    return bytes;
  };
  store->disk_ = std::make_unique<DiskReserve>(options.path, disk, Clock::Real());
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(rocks.db, options.path, rocks.families, &store->handles_, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && absl::StrContains(s.ToString(), "lock")) {
      return absl::FailedPreconditionError(
          absl::StrCat("data directory ", options.path,
                       " is in use by another process (its RocksDB LOCK is held): ", s.ToString()));
    }
    return absl::InternalError(
        absl::StrCat("cannot open the store in ", options.path, ": ", s.ToString()));
  }
  store->db_.reset(raw);
  store->meta_cf_ = store->handles_[kMetaFamily];
  store->data_cf_ = store->handles_[kDataFamily];
  store->log_cf_ = store->handles_[kLogFamily];
  store->expiry_cf_ = store->handles_[kExpiryFamily];
  store->log_ = std::make_unique<replication::ChangeLog>(raw, store->log_cf_);
  if (absl::Status st = store->Load(); !st.ok()) return st;
  return store;
}

absl::StatusOr<StoreMeta> VersionedStore::ReadMeta(const std::string& path) {
  // RocksDB would create an info LOG file in the directory; this one discards its lines.
  class NoLog final : public rocksdb::Logger {
    using rocksdb::Logger::Logv;
    void Logv(const char*, va_list) override {}
  };
  StoreOptions options;
  options.path = path;
  options.block_cache_bytes = 8 << 20;
  RocksOptions rocks = MakeRocksOptions(options, nullptr);
  rocks.db.info_log = std::make_shared<NoLog>();
  rocks.db.create_if_missing = false;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(rocks.db, path, rocks.families, &handles, &raw);
  if (!s.ok()) return FromRocks(s, absl::StrCat("opening ", path, " read-only"));
  std::unique_ptr<rocksdb::DB> db(raw);
  StoreMeta meta;
  std::string value;
  s = db->Get(rocksdb::ReadOptions(), handles[kMetaFamily], kMetaHead, &value);
  if (s.ok() && !DecodeVersionKey(value, &meta.head_version)) s = rocksdb::Status::Corruption();
  for (auto [key, out] :
       {std::pair{kMetaClusterId, &meta.cluster_id}, std::pair{kMetaHistoryId, &meta.history_id}}) {
    if (s.ok() || s.IsNotFound())
      s = db->Get(rocksdb::ReadOptions(), handles[kMetaFamily], key, out);
  }
  if (s.ok() || s.IsNotFound()) {
    s = db->Get(rocksdb::ReadOptions(), handles[kMetaFamily], kMetaSnapshotIncomplete, &value);
    meta.snapshot_incomplete = s.ok();
  }
  absl::Status result =
      s.ok() || s.IsNotFound() ? absl::OkStatus() : FromRocks(s, "reading the store's meta");
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  db->Close();
  if (!result.ok()) return result;
  return meta;
}

VersionedStore::~VersionedStore() {
  if (!db_) return;
  log_.reset();
  rocksdb::FlushOptions flush;
  db_->Flush(flush, handles_);
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

absl::Status VersionedStore::Load() {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf_, kMetaHead, &value);
  uint64_t head = 0;
  if (s.ok()) {
    if (!DecodeVersionKey(value, &head)) return absl::DataLossError("corrupt head version");
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading the head version");
  }
  head_.store(head);
  s = db_->Get(rocksdb::ReadOptions(), meta_cf_, kMetaClusterId, &value);
  if (s.ok()) {
    absl::MutexLock l(&cluster_mu_);
    cluster_id_ = value;
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading the cluster id");
  }
  s = db_->Get(rocksdb::ReadOptions(), meta_cf_, kMetaHistoryId, &value);
  if (s.ok()) {
    absl::MutexLock l(&cluster_mu_);
    history_id_ = value;
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading the history id");
  }
  s = db_->Get(rocksdb::ReadOptions(), meta_cf_, kMetaSnapshotIncomplete, &value);
  snapshot_incomplete_.store(s.ok());
  if (auto st = LoadChecksum(head); !st.ok()) return st;
  return log_->Load(head);
}

std::string VersionedStore::cluster_id() const {
  absl::MutexLock l(&cluster_mu_);
  return cluster_id_;
}

absl::StatusOr<std::string> VersionedStore::EnsureClusterId() {
  absl::MutexLock l(&cluster_mu_);
  if (!cluster_id_.empty()) return cluster_id_;
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
  std::string id =
      absl::StrCat(absl::Hex(rng(), absl::kZeroPad16), absl::Hex(rng(), absl::kZeroPad16));
  rocksdb::WriteOptions w;
  w.sync = true;
  if (auto st = FromRocks(db_->Put(w, meta_cf_, kMetaClusterId, id), "writing the cluster id");
      !st.ok()) {
    return st;
  }
  cluster_id_ = id;
  return id;
}

std::string VersionedStore::history_id() const {
  absl::MutexLock l(&cluster_mu_);
  return history_id_;
}

absl::StatusOr<std::string> VersionedStore::EnsureHistoryId() {
  if (std::string id = history_id(); !id.empty()) return id;
  std::string id = NewHistoryId();
  if (auto st = SetHistoryId(id); !st.ok()) return st;
  return id;
}

absl::Status VersionedStore::SetHistoryId(const std::string& history_id) {
  absl::MutexLock l(&cluster_mu_);
  if (history_id_ == history_id) return absl::OkStatus();
  rocksdb::WriteOptions w;
  w.sync = true;
  if (auto st =
          FromRocks(db_->Put(w, meta_cf_, kMetaHistoryId, history_id), "writing the history id");
      !st.ok()) {
    return st;
  }
  history_id_ = history_id;
  return absl::OkStatus();
}

ReadPoint VersionedStore::NewReadPoint() const {
  ReadPoint point;
  // The head before the snapshot: the snapshot holds at least every change up to it.
  point.head = head_version();
  rocksdb::DB* db = db_.get();
  point.snapshot = std::shared_ptr<const rocksdb::Snapshot>(
      db->GetSnapshot(), [db](const rocksdb::Snapshot* s) { db->ReleaseSnapshot(s); });
  return point;
}

absl::StatusOr<bool> VersionedStore::Get(absl::string_view key, PinnedRecord* out,
                                         const ReadPoint* at) const {
  out->buffer.Reset();
  rocksdb::ReadOptions read;
  if (at != nullptr) read.snapshot = at->snapshot.get();
  rocksdb::Status s = db_->Get(read, data_cf_, ToSlice(key), &out->buffer);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return FromRocks(s, "reading a key");
  if (!DecodeRecord(ToView(out->buffer), &out->view)) {
    return absl::DataLossError(
        absl::StrCat("corrupt record for key '", absl::CHexEscape(key), "'"));
  }
  return true;
}

absl::Status VersionedStore::MultiGet(const google::protobuf::RepeatedPtrField<std::string>& keys,
                                      const ReadPoint& at, PinnedRecords* out) const {
  const size_t n = static_cast<size_t>(keys.size());
  absl::InlinedVector<rocksdb::Slice, 16> slices;
  slices.reserve(n);
  for (const std::string& key : keys) slices.push_back(ToSlice(key));
  absl::InlinedVector<rocksdb::Status, 16> statuses(n);
  out->buffers.clear();
  out->buffers.resize(n);
  out->views.assign(n, RecordView());
  out->found.assign(n, false);
  rocksdb::ReadOptions read;
  read.snapshot = at.snapshot.get();
  db_->MultiGet(read, data_cf_, n, slices.data(), out->buffers.data(), statuses.data());
  for (size_t i = 0; i < n; ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocks(statuses[i], "reading keys");
    if (!DecodeRecord(ToView(out->buffers[i]), &out->views[i])) {
      return absl::DataLossError(absl::StrCat("corrupt record for key '",
                                              absl::CHexEscape(keys[static_cast<int>(i)]), "'"));
    }
    out->found[i] = true;
  }
  return absl::OkStatus();
}

absl::Status VersionedStore::Write(rocksdb::WriteBatch* batch, DiskReserve::Kind kind, Sync sync) {
  write_mu_.AssertHeld();
  if (auto s = health_->WritesStopped(); !s.ok()) return s;
  if (auto s = disk_->Admit(batch->GetDataSize(), kind); !s.ok()) {
    FlushToFreeWal();
    return s;
  }
  rocksdb::WriteOptions w;
  w.sync = sync == Sync::kAlways || (sync == Sync::kAsStore && options_.sync);
  return FromRocks(db_->Write(w, batch), "writing a batch");
}

absl::Status VersionedStore::WritesAccepted() const {
  if (auto s = health_->WritesStopped(); !s.ok()) return s;
  DiskState disk = disk_->State();
  if (disk.exceeded) return absl::ResourceExhaustedError(disk_->Explain(disk));
  return absl::OkStatus();
}

void VersionedStore::AddRecordToBatch(const Change& change, uint64_t version,
                                      rocksdb::WriteBatch* batch) {
  switch (change.kind()) {
    case Change::KIND_DELETE:
      batch->Delete(data_cf_, change.key());
      return;
    case Change::KIND_PUT:
    case Change::KIND_INVALIDATE:
    default: {
      RecordView view;
      view.version = version;
      view.expiration = change.expiration();
      view.value_missing = change.kind() == Change::KIND_INVALIDATE;
      view.value_hash = view.value_missing ? change.value_hash() : 0;
      view.metadata = change.metadata();
      view.value = change.value();
      std::string encoded;
      EncodeRecord(view, &encoded);
      batch->Put(data_cf_, change.key(), encoded);
      if (options_.index_expirations && change.expiration() != 0) {
        batch->Put(expiry_cf_, ExpiryKey(change.expiration(), change.key()),
                   EncodeVersionKey(version));
      }
      return;
    }
  }
}

absl::Status VersionedStore::Apply(const std::vector<const Change*>& changes) {
  return ApplyChanges(changes, nullptr);
}

absl::Status VersionedStore::ApplyStamped(const std::vector<Change*>& changes) {
  std::vector<const Change*> pointers(changes.begin(), changes.end());
  return ApplyChanges(pointers, &changes);
}

absl::Status VersionedStore::ApplyChanges(const std::vector<const Change*>& changes,
                                          const std::vector<Change*>* stamp) {
  if (changes.empty()) return absl::OkStatus();
  absl::MutexLock l(&write_mu_);
  PreparedWrite prepared;
  if (auto s = PrepareChanges(changes, stamp, &prepared); !s.ok()) return s;
  return WritePreparedLocked(&prepared);
}

absl::StatusOr<std::unique_ptr<PreparedWrite>> VersionedStore::PrepareStamped(
    const std::vector<Change*>& changes) {
  if (changes.empty()) return absl::InvalidArgumentError("nothing to prepare");
  std::vector<const Change*> pointers(changes.begin(), changes.end());
  auto prepared = std::make_unique<PreparedWrite>();
  absl::MutexLock l(&write_mu_);
  if (auto s = PrepareChanges(pointers, &changes, prepared.get()); !s.ok()) return s;
  return prepared;
}

absl::Status VersionedStore::WritePrepared(PreparedWrite* prepared) {
  absl::MutexLock l(&write_mu_);
  return WritePreparedLocked(prepared);
}

absl::Status VersionedStore::PrepareChanges(const std::vector<const Change*>& changes,
                                            const std::vector<Change*>* stamp, PreparedWrite* out) {
  out->base = head_.load();
  uint64_t expected = out->base + 1;
  rocksdb::WriteBatch& batch = out->batch;
  ChecksumState state = checksum_state();
  replication::DatasetChecksum sum(state.checksum);
  // Keys written earlier in this batch: their new term (nullopt = deleted).
  absl::flat_hash_map<std::string, std::optional<uint64_t>> pending;
  for (size_t i = 0; i < changes.size(); ++i) {
    const Change* change = changes[i];
    if (change->version() != expected) {
      return absl::FailedPreconditionError(absl::StrCat("out-of-order change: expected version ",
                                                        expected, ", got ", change->version()));
    }
    // Each key the change writes (every part of a commit), all at the change's version.
    absl::Status records = absl::OkStatus();
    replication::ForEachKeyChange(*change, [&](const Change& c, uint64_t version) {
      auto old_term = CurrentTerm(c.key(), pending);
      if (!old_term.ok()) {
        records.Update(old_term.status());
        return;
      }
      if (*old_term) sum.Remove(**old_term);
      std::optional<uint64_t> new_term;
      if (c.kind() != Change::KIND_DELETE) {
        new_term = ChangeTerm(c, version);
        sum.Add(*new_term);
      }
      pending[c.key()] = new_term;
      AddRecordToBatch(c, version, &batch);
    });
    if (!records.ok()) return records;
    if (stamp != nullptr) (*stamp)[i]->set_checksum(sum.value());
    if (auto st = log_->Append(*change, &batch); !st.ok()) return st;
    ++expected;
  }
  out->head = expected - 1;
  batch.Put(meta_cf_, kMetaHead, EncodeVersionKey(out->head));
  state.version = out->head;
  state.checksum = sum.value();
  // The central node's checksum after the last change, as it said (at the central: its own).
  state.central_known = changes.back()->has_checksum();
  state.central = changes.back()->checksum();
  PutChecksum(state, &batch);
  out->state = state;
  return absl::OkStatus();
}

absl::Status VersionedStore::WritePreparedLocked(PreparedWrite* prepared) {
  if (head_.load() != prepared->base) {
    return absl::FailedPreconditionError(absl::StrCat("a prepared batch continues version ",
                                                      prepared->base, " but the store is at ",
                                                      head_.load()));
  }
  if (auto st = Write(&prepared->batch); !st.ok()) return st;
  log_->Committed(prepared->head);
  head_.store(prepared->head, std::memory_order_release);
  SetChecksumState(prepared->state);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<uint64_t>> VersionedStore::CurrentTerm(
    const std::string& key,
    const absl::flat_hash_map<std::string, std::optional<uint64_t>>& pending) const {
  if (auto it = pending.find(key); it != pending.end()) return it->second;
  PinnedRecord record;
  auto found = Get(key, &record);
  if (!found.ok()) return found.status();
  if (!*found) return std::optional<uint64_t>();
  return std::optional<uint64_t>(StoredTerm(key, record.view));
}

ChecksumState VersionedStore::checksum_state() const {
  absl::MutexLock l(&checksum_mu_);
  return checksum_;
}

void VersionedStore::SetChecksumState(const ChecksumState& state) {
  absl::MutexLock l(&checksum_mu_);
  checksum_ = state;
}

void VersionedStore::PutChecksum(const ChecksumState& state, rocksdb::WriteBatch* batch) {
  batch->Put(meta_cf_, kMetaChecksum, EncodeVersionKey(state.checksum));
  if (state.central_known) {
    batch->Put(meta_cf_, kMetaCentralChecksum, EncodeVersionKey(state.central));
  } else {
    batch->Delete(meta_cf_, kMetaCentralChecksum);
  }
}

absl::Status VersionedStore::LoadChecksum(uint64_t head) {
  ChecksumState state;
  state.version = head;
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf_, kMetaCentralChecksum, &value);
  if (s.ok()) {
    if (!DecodeVersionKey(value, &state.central)) return absl::DataLossError("corrupt checksum");
    state.central_known = true;
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading the central checksum");
  }
  s = db_->Get(rocksdb::ReadOptions(), meta_cf_, kMetaChecksum, &value);
  if (s.ok()) {
    if (!DecodeVersionKey(value, &state.checksum)) return absl::DataLossError("corrupt checksum");
    SetChecksumState(state);
    return absl::OkStatus();
  }
  if (!s.IsNotFound()) return FromRocks(s, "reading the checksum");
  // A directory from before checksums: computed once, here (a full scan).
  const int64_t started = Clock::Real()->MonotonicMicros();
  uint64_t records = 0;
  if (auto st = SumRecords(nullptr, &state.checksum, &records); !st.ok()) return st;
  if (records > 0) {
    KV_LOG(INFO) << "computed the dataset checksum of " << options_.path << " once: " << records
                 << " records in " << (Clock::Real()->MonotonicMicros() - started) / 1000 << " ms";
  }
  rocksdb::WriteBatch batch;
  PutChecksum(state, &batch);
  if (auto st = FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "writing the checksum");
      !st.ok()) {
    return st;
  }
  SetChecksumState(state);
  return absl::OkStatus();
}

absl::Status VersionedStore::SumRecords(const rocksdb::Snapshot* snapshot, uint64_t* sum,
                                        uint64_t* records) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  options.fill_cache = false;  // one pass over everything: keep the cache for reads
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, data_cf_));
  replication::DatasetChecksum total;
  *records = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    RecordView view;
    if (!DecodeRecord(ToView(it->value()), &view)) {
      return absl::DataLossError(
          absl::StrCat("corrupt record for key '", absl::CHexEscape(ToView(it->key())), "'"));
    }
    total.Add(StoredTerm(ToView(it->key()), view));
    ++*records;
  }
  *sum = total.value();
  return FromRocks(it->status(), "scanning the records for the checksum");
}

absl::StatusOr<ChecksumScan> VersionedStore::ScanChecksum() const {
  ChecksumScan scan;
  const rocksdb::Snapshot* snapshot = nullptr;
  {
    // The snapshot and the running checksum describe the same state.
    absl::MutexLock l(&write_mu_);
    snapshot = db_->GetSnapshot();
    ChecksumState state = checksum_state();
    scan.version = state.version;
    scan.persisted = state.checksum;
  }
  absl::Status s = SumRecords(snapshot, &scan.recomputed, &scan.records);
  db_->ReleaseSnapshot(snapshot);
  if (!s.ok()) return s;
  return scan;
}

absl::Status VersionedStore::CorruptValueForTesting(absl::string_view key,
                                                    absl::string_view value) {
  absl::MutexLock l(&write_mu_);
  PinnedRecord current;
  auto found = Get(key, &current);
  if (!found.ok()) return found.status();
  if (!*found) return absl::NotFoundError("no such key");
  RecordView view = current.view;
  view.value_missing = false;
  view.value = value;
  std::string encoded;
  EncodeRecord(view, &encoded);
  rocksdb::WriteBatch batch;
  batch.Put(data_cf_, ToSlice(key), encoded);
  return Write(&batch);
}

absl::Status VersionedStore::List(absl::string_view prefix, absl::string_view start_after,
                                  size_t limit, bool include_values, int64_t now_unix,
                                  std::vector<Entry>* out, bool* more,
                                  size_t* missing_values) const {
  *more = false;
  if (missing_values != nullptr) *missing_values = 0;
  rocksdb::ReadOptions options;
  std::string upper;
  rocksdb::Slice upper_slice;
  if (!prefix.empty()) {
    // The smallest key greater than every key with this prefix.
    upper = std::string(prefix);
    while (!upper.empty() && static_cast<uint8_t>(upper.back()) == 0xff) upper.pop_back();
    if (!upper.empty()) {
      upper.back() = static_cast<char>(static_cast<uint8_t>(upper.back()) + 1);
      upper_slice = rocksdb::Slice(upper);
      options.iterate_upper_bound = &upper_slice;
    }
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, data_cf_));
  if (start_after.empty()) {
    it->Seek(ToSlice(prefix));
  } else {
    it->Seek(ToSlice(start_after));
    if (it->Valid() && ToView(it->key()) == start_after) it->Next();
  }
  for (; it->Valid(); it->Next()) {
    absl::string_view key = ToView(it->key());
    if (!absl::StartsWith(key, prefix)) break;
    RecordView view;
    if (!DecodeRecord(ToView(it->value()), &view)) {
      return absl::DataLossError(
          absl::StrCat("corrupt record for key '", absl::CHexEscape(key), "'"));
    }
    if (view.ExpiredAt(now_unix)) continue;
    if (out->size() >= limit) {
      *more = true;
      break;
    }
    if (view.value_missing && missing_values != nullptr) ++*missing_values;
    Entry& e = out->emplace_back();
    e.set_key(key.data(), key.size());
    if (include_values) e.set_value(view.value.data(), view.value.size());
    e.set_metadata(view.metadata.data(), view.metadata.size());
    e.set_version(view.version);
    e.set_expiration(view.expiration);
  }
  return FromRocks(it->status(), "listing keys");
}

absl::Status VersionedStore::BeginSnapshotInstall() {
  absl::MutexLock l(&write_mu_);
  rocksdb::WriteBatch batch;
  batch.Put(meta_cf_, kMetaSnapshotIncomplete, "1");
  // Keys are at most 64 KiB (flags cap --max-key-bytes below that), so this bounds them all.
  std::string lo, hi(65536, '\xff');
  batch.DeleteRange(data_cf_, lo, hi);
  batch.DeleteRange(expiry_cf_, lo, hi);
  if (auto st = log_->Reset(1, &batch); !st.ok()) return st;
  batch.Put(meta_cf_, kMetaHead, EncodeVersionKey(0));
  PutChecksum(ChecksumState{}, &batch);
  if (auto st = Write(&batch, DiskReserve::Kind::kReclaim); !st.ok()) return st;
  head_.store(0);
  snapshot_incomplete_.store(true);
  SetChecksumState(ChecksumState{});
  snapshot_sum_ = 0;
  snapshot_central_.reset();
  ReclaimWipedSpace();
  return absl::OkStatus();
}

void VersionedStore::FlushToFreeWal() {
  // Every batch also writes the head version into the meta family, whose memtable hardly ever
  // fills, so WAL files stay until max_total_wal_size (256 MiB) forces a flush: on a disk near
  // its reserve they can hold most of the space. Flushing every family lets RocksDB delete them.
  // At most once a second; RocksDB runs it in the background.
  const int64_t now = Clock::Real()->MonotonicMicros();
  int64_t last = last_wal_flush_micros_.load();
  if (now - last < 1'000'000 || !last_wal_flush_micros_.compare_exchange_strong(last, now)) return;
  rocksdb::FlushOptions flush;
  flush.wait = false;
  flush.allow_write_stall = true;
  rocksdb::Status s = db_->Flush(flush, handles_);
  if (!s.ok()) KV_LOG(WARN) << "flushing to free WAL space failed: " << s.ToString();
}

void VersionedStore::ReclaimWipedSpace() {
  // The memtables go first (with them the WAL files the wiped data was in); then tables wholly
  // inside the wiped range go at once (below L0), and a compaction drops what the range
  // deletions cover in L0. None of it needs much free space.
  rocksdb::FlushOptions flush;
  flush.allow_write_stall = true;
  if (rocksdb::Status s = db_->Flush(flush, handles_); !s.ok()) {
    KV_LOG(WARN) << "flushing the wiped data failed: " << s.ToString();
  }
  for (rocksdb::ColumnFamilyHandle* cf : {data_cf_, log_cf_, expiry_cf_}) {
    rocksdb::Status s = rocksdb::DeleteFilesInRange(db_.get(), cf, nullptr, nullptr);
    if (s.ok()) {
      rocksdb::CompactRangeOptions compact;
      compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
      s = db_->CompactRange(compact, cf, nullptr, nullptr);
    }
    if (!s.ok()) {
      KV_LOG(WARN) << "could not reclaim the space of the wiped data in " << cf->GetName()
                   << " yet (compaction will): " << s.ToString();
    }
  }
}

absl::Status VersionedStore::InstallSnapshotEntries(const std::vector<const Entry*>& entries,
                                                    const std::vector<const Entry*>& missing,
                                                    const std::vector<uint64_t>& missing_hashes) {
  absl::MutexLock l(&write_mu_);
  rocksdb::WriteBatch batch;
  replication::DatasetChecksum sum(snapshot_sum_);
  for (const auto* list : {&entries, &missing}) {
    for (size_t i = 0; i < list->size(); ++i) {
      const Entry* e = (*list)[i];
      Change c;
      c.set_kind(list == &entries ? Change::KIND_PUT : Change::KIND_INVALIDATE);
      c.set_version(e->version());
      c.set_key(e->key());
      c.set_value(e->value());
      c.set_metadata(e->metadata());
      c.set_expiration(e->expiration());
      if (list == &missing && i < missing_hashes.size()) c.set_value_hash(missing_hashes[i]);
      AddRecordToBatch(c, c.version(), &batch);
      sum.Add(ChangeTerm(c, c.version()));
    }
  }
  if (auto st = Write(&batch); !st.ok()) return st;
  snapshot_sum_ = sum.value();
  return absl::OkStatus();
}

void VersionedStore::SetSnapshotCentralChecksum(std::optional<uint64_t> central) {
  absl::MutexLock l(&write_mu_);
  snapshot_central_ = central;
}

absl::Status VersionedStore::FinishSnapshotInstall(uint64_t version,
                                                   const std::string& cluster_id) {
  absl::MutexLock l(&write_mu_);
  rocksdb::WriteBatch batch;
  batch.Put(meta_cf_, kMetaHead, EncodeVersionKey(version));
  batch.Put(meta_cf_, kMetaClusterId, cluster_id);
  batch.Delete(meta_cf_, kMetaSnapshotIncomplete);
  ChecksumState checksum{version, snapshot_sum_, snapshot_central_.has_value(),
                         snapshot_central_.value_or(0)};
  PutChecksum(checksum, &batch);
  if (auto st = log_->Reset(version + 1, &batch); !st.ok()) return st;
  // Synced: a finished snapshot is expensive to redo. Its entries are in; the end marker may use
  // the reserve.
  if (auto st = Write(&batch, DiskReserve::Kind::kReclaim, Sync::kAlways); !st.ok()) {
    return st;
  }
  {
    absl::MutexLock c(&cluster_mu_);
    cluster_id_ = cluster_id;
  }
  head_.store(version, std::memory_order_release);
  snapshot_incomplete_.store(false);
  SetChecksumState(checksum);
  return absl::OkStatus();
}

std::unique_ptr<SnapshotCursor> VersionedStore::NewSnapshotCursor() const {
  std::unique_ptr<SnapshotCursor> cursor(new SnapshotCursor());
  cursor->db_ = db_.get();
  {
    // Hold the write lock so the snapshot and the head version describe the same state.
    absl::MutexLock l(&write_mu_);
    cursor->snapshot_ = db_->GetSnapshot();
    cursor->version_ = head_.load();
    cursor->checksum_ = checksum_state().checksum;
  }
  cursor->cluster_id_ = cluster_id();
  cursor->history_id_ = history_id();
  cursor->cf_ = data_cf_;
  return cursor;
}

absl::StatusOr<bool> VersionedStore::InstallFetchedValue(absl::string_view key, uint64_t version,
                                                         absl::string_view value) {
  absl::MutexLock l(&write_mu_);
  PinnedRecord current;
  auto found = Get(key, &current);
  if (!found.ok()) return found.status();
  if (!*found || current.view.version != version || !current.view.value_missing) return false;
  // The record counts in the checksum through the hash its invalidation carried: a value that
  // does not match it is not the one the central node wrote.
  if (current.view.value_hash != 0 && replication::ValueHash(value) != current.view.value_hash) {
    return absl::DataLossError(absl::StrCat("the fetched value of key '", absl::CHexEscape(key),
                                            "' at version ", version,
                                            " does not match the hash it was announced with"));
  }
  RecordView view = current.view;
  view.value_missing = false;
  view.value = value;
  std::string encoded;
  EncodeRecord(view, &encoded);
  rocksdb::WriteBatch batch;
  batch.Put(data_cf_, ToSlice(key), encoded);
  if (auto st = Write(&batch); !st.ok()) return st;
  return true;
}

absl::Status VersionedStore::ScanMissingValues(size_t max,
                                               std::vector<std::pair<std::string, uint64_t>>* out) {
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, data_cf_));
  for (it->SeekToFirst(); it->Valid() && out->size() < max; it->Next()) {
    RecordView view;
    if (DecodeRecord(ToView(it->value()), &view) && view.value_missing) {
      out->emplace_back(it->key().ToString(), view.version);
    }
  }
  return FromRocks(it->status(), "scanning for missing values");
}

absl::Status VersionedStore::ScanExpired(int64_t now_unix, size_t max,
                                         std::vector<ExpiredKey>* out) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), expiry_cf_));
  for (it->SeekToFirst(); it->Valid() && out->size() < max; it->Next()) {
    absl::string_view k = ToView(it->key());
    uint64_t expiration = 0, version = 0;
    if (k.size() < 8 || !DecodeVersionKey(k.substr(0, 8), &expiration) ||
        !DecodeVersionKey(ToView(it->value()), &version)) {
      return absl::DataLossError("corrupt expiry index entry");
    }
    if (static_cast<int64_t>(expiration) > now_unix) break;
    out->push_back(ExpiredKey{std::string(k.substr(8)), version, static_cast<int64_t>(expiration)});
  }
  return FromRocks(it->status(), "scanning the expiry index");
}

absl::Status VersionedStore::DropExpiryIndex(const std::vector<ExpiredKey>& keys) {
  rocksdb::WriteBatch batch;
  for (const auto& k : keys) batch.Delete(expiry_cf_, ExpiryKey(k.expiration, k.key));
  // Only the sweeper writes the index; the lock keeps Write's checks in one place.
  absl::MutexLock l(&write_mu_);
  return Write(&batch, DiskReserve::Kind::kReclaim, Sync::kNever);
}

uint64_t VersionedStore::ApproximateKeyCount() const {
  uint64_t n = 0;
  db_->GetIntProperty(data_cf_, "rocksdb.estimate-num-keys", &n);
  return n;
}

uint64_t VersionedStore::ApproximateDataBytes() const {
  uint64_t live = 0, mem = 0;
  db_->GetIntProperty(data_cf_, "rocksdb.estimate-live-data-size", &live);
  db_->GetIntProperty(data_cf_, "rocksdb.cur-size-all-mem-tables", &mem);
  return live + mem;
}

}  // namespace kv::server

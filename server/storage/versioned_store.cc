#include "server/storage/versioned_store.h"

#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/slice.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/options_util.h"

namespace kv::server {

using kvstore::v1::Change;
using kvstore::v1::Entry;
namespace {

using replication::DecodeVersionKey;
using replication::EncodeVersionKey;

constexpr char kMetaHead[] = "head_version";
constexpr char kMetaClusterId[] = "cluster_id";
constexpr char kMetaSnapshotIncomplete[] = "snapshot_incomplete";

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", s.ToString()));
}

std::string ExpiryKey(int64_t expiration, absl::string_view key) {
  std::string k = EncodeVersionKey(static_cast<uint64_t>(expiration));
  k.append(key.data(), key.size());
  return k;
}

}  // namespace

SnapshotCursor::~SnapshotCursor() {
  it_.reset();
  if (snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
}

absl::StatusOr<bool> SnapshotCursor::Next(size_t max_bytes, int64_t now_unix,
                                          std::vector<Entry>* entries,
                                          std::vector<Entry>* missing) {
  // A chunk closes before an entry that would take it past max_bytes (an entry alone may fill
  // one): closing after it would let one maximal value push a chunk over the gRPC limit.
  size_t bytes = 0;
  while (it_->Valid()) {
    const size_t entry_bytes = it_->key().size() + it_->value().size();
    if (bytes + entry_bytes > max_bytes && !(entries->empty() && missing->empty())) break;
    RecordView view;
    if (!DecodeRecord(ToView(it_->value()), &view)) {
      return absl::DataLossError(
          absl::StrCat("corrupt record for key '", absl::CHexEscape(ToView(it_->key())), "'"));
    }
    if (!view.ExpiredAt(now_unix)) {
      Entry* e = view.value_missing ? &missing->emplace_back() : &entries->emplace_back();
      e->set_key(it_->key().data(), it_->key().size());
      if (!view.value_missing) e->set_value(view.value.data(), view.value.size());
      e->set_metadata(view.metadata.data(), view.metadata.size());
      e->set_version(view.version);
      e->set_expiration(view.expiration);
      bytes += entry_bytes;
    }
    it_->Next();
  }
  if (!it_->status().ok()) return FromRocks(it_->status(), "reading the snapshot");
  return it_->Valid();
}

absl::StatusOr<std::unique_ptr<VersionedStore>> VersionedStore::Open(const StoreOptions& options) {
  std::unique_ptr<VersionedStore> store(new VersionedStore());
  store->options_ = options;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  db_options.max_total_wal_size = 256ull << 20;
  db_options.keep_log_file_num = 5;

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto table_options = [&](bool bloom) {
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = cache;
    if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.cache_index_and_filter_blocks = true;
    t.pin_l0_filter_and_index_blocks_in_cache = true;
    return t;
  };
  rocksdb::ColumnFamilyOptions data_options;
  data_options.OptimizeLevelStyleCompaction(64ull << 20);
  data_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options(true)));
  // A whole-key bloom filter on the memtable lets a Get of a key not written recently skip the
  // skiplist search, which was ~20% of a read-serving node's CPU with a full memtable.
  data_options.memtable_prefix_bloom_size_ratio = 0.05;
  data_options.memtable_whole_key_filtering = true;
  rocksdb::ColumnFamilyOptions plain_options;
  plain_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options(false)));

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, plain_options},
      {"data", data_options},
      {"log", plain_options},
      {"expiry", plain_options},
  };
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, families, &store->handles_, &raw);
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
  store->meta_cf_ = store->handles_[0];
  store->data_cf_ = store->handles_[1];
  store->log_cf_ = store->handles_[2];
  store->expiry_cf_ = store->handles_[3];
  store->log_ = std::make_unique<replication::ChangeLog>(raw, store->log_cf_);
  if (absl::Status st = store->Load(); !st.ok()) return st;
  return store;
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
  s = db_->Get(rocksdb::ReadOptions(), meta_cf_, kMetaSnapshotIncomplete, &value);
  snapshot_incomplete_.store(s.ok());
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

absl::StatusOr<bool> VersionedStore::Get(absl::string_view key, PinnedRecord* out) const {
  out->buffer.Reset();
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), data_cf_, ToSlice(key), &out->buffer);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return FromRocks(s, "reading a key");
  if (!DecodeRecord(ToView(out->buffer), &out->view)) {
    return absl::DataLossError(
        absl::StrCat("corrupt record for key '", absl::CHexEscape(key), "'"));
  }
  return true;
}

absl::Status VersionedStore::Write(rocksdb::WriteBatch* batch) {
  write_mu_.AssertHeld();
  rocksdb::WriteOptions w;
  w.sync = options_.sync;
  return FromRocks(db_->Write(w, batch), "writing a batch");
}

void VersionedStore::AddRecordToBatch(const Change& change, rocksdb::WriteBatch* batch) {
  switch (change.kind()) {
    case Change::KIND_DELETE:
      batch->Delete(data_cf_, change.key());
      return;
    case Change::KIND_PUT:
    case Change::KIND_INVALIDATE:
    default: {
      RecordView view;
      view.version = change.version();
      view.expiration = change.expiration();
      view.value_missing = change.kind() == Change::KIND_INVALIDATE;
      view.metadata = change.metadata();
      view.value = change.value();
      std::string encoded;
      EncodeRecord(view, &encoded);
      batch->Put(data_cf_, change.key(), encoded);
      if (options_.index_expirations && change.expiration() != 0) {
        batch->Put(expiry_cf_, ExpiryKey(change.expiration(), change.key()),
                   EncodeVersionKey(change.version()));
      }
      return;
    }
  }
}

absl::Status VersionedStore::Apply(const std::vector<const Change*>& changes) {
  if (changes.empty()) return absl::OkStatus();
  absl::MutexLock l(&write_mu_);
  uint64_t expected = head_.load() + 1;
  rocksdb::WriteBatch batch;
  for (const Change* change : changes) {
    if (change->version() != expected) {
      return absl::FailedPreconditionError(absl::StrCat("out-of-order change: expected version ",
                                                        expected, ", got ", change->version()));
    }
    AddRecordToBatch(*change, &batch);
    if (auto st = log_->Append(*change, &batch); !st.ok()) return st;
    ++expected;
  }
  uint64_t head = expected - 1;
  batch.Put(meta_cf_, kMetaHead, EncodeVersionKey(head));
  if (auto st = Write(&batch); !st.ok()) return st;
  log_->Committed(head);
  head_.store(head, std::memory_order_release);
  return absl::OkStatus();
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
  if (auto st = Write(&batch); !st.ok()) return st;
  head_.store(0);
  snapshot_incomplete_.store(true);
  return absl::OkStatus();
}

absl::Status VersionedStore::InstallSnapshotEntries(const std::vector<const Entry*>& entries,
                                                    const std::vector<const Entry*>& missing) {
  absl::MutexLock l(&write_mu_);
  rocksdb::WriteBatch batch;
  for (const auto* list : {&entries, &missing}) {
    for (const Entry* e : *list) {
      Change c;
      c.set_kind(list == &entries ? Change::KIND_PUT : Change::KIND_INVALIDATE);
      c.set_version(e->version());
      c.set_key(e->key());
      c.set_value(e->value());
      c.set_metadata(e->metadata());
      c.set_expiration(e->expiration());
      AddRecordToBatch(c, &batch);
    }
  }
  return Write(&batch);
}

absl::Status VersionedStore::FinishSnapshotInstall(uint64_t version,
                                                   const std::string& cluster_id) {
  absl::MutexLock l(&write_mu_);
  rocksdb::WriteBatch batch;
  batch.Put(meta_cf_, kMetaHead, EncodeVersionKey(version));
  batch.Put(meta_cf_, kMetaClusterId, cluster_id);
  batch.Delete(meta_cf_, kMetaSnapshotIncomplete);
  if (auto st = log_->Reset(version + 1, &batch); !st.ok()) return st;
  rocksdb::WriteOptions w;
  w.sync = true;  // a finished snapshot is expensive to redo
  if (auto st = FromRocks(db_->Write(w, &batch), "finishing the snapshot"); !st.ok()) return st;
  {
    absl::MutexLock c(&cluster_mu_);
    cluster_id_ = cluster_id;
  }
  head_.store(version, std::memory_order_release);
  snapshot_incomplete_.store(false);
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
  }
  cursor->cluster_id_ = cluster_id();
  rocksdb::ReadOptions options;
  options.snapshot = cursor->snapshot_;
  options.fill_cache = false;
  cursor->it_.reset(db_->NewIterator(options, data_cf_));
  cursor->it_->SeekToFirst();
  return cursor;
}

absl::StatusOr<bool> VersionedStore::InstallFetchedValue(absl::string_view key, uint64_t version,
                                                         absl::string_view value) {
  absl::MutexLock l(&write_mu_);
  PinnedRecord current;
  auto found = Get(key, &current);
  if (!found.ok()) return found.status();
  if (!*found || current.view.version != version || !current.view.value_missing) return false;
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
  rocksdb::WriteOptions w;
  return FromRocks(db_->Write(w, &batch), "updating the expiry index");
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

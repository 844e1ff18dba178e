#include "server/edge/cache_store.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/reserved_keys.h"
#include "common/slice.h"
#include "replication/change_log.h"
#include "replication/change_parts.h"
#include "server/edge/cached_value_proto.h"
#include "server/storage/record_codec.h"

namespace kv::server {
namespace {

using cache::CachedValue;
using kvstore::v1::Change;

constexpr char kMetaApplied[] = "applied_version";
constexpr char kMetaCluster[] = "cluster_id";
constexpr char kMetaHistory[] = "history_id";

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", s.ToString()));
}

// A persisted entry: 'F' (found) or 'N' (not found), then the record encoding.
std::string EncodeEntry(const CachedValue& v) {
  RecordView view;
  view.version = v.version;
  view.expiration = v.expiration;
  view.metadata = v.metadata;
  view.value = v.value;
  std::string encoded;
  EncodeRecord(view, &encoded);
  return std::string(1, v.found ? 'F' : 'N') + encoded;
}

bool DecodeEntry(absl::string_view bytes, CachedValue* v) {
  if (bytes.empty() || (bytes[0] != 'F' && bytes[0] != 'N')) return false;
  RecordView view;
  if (!DecodeRecord(bytes.substr(1), &view)) return false;
  v->found = bytes[0] == 'F';
  v->version = view.version;
  v->expiration = view.expiration;
  v->metadata = std::string(view.metadata);
  v->value = std::string(view.value);
  return true;
}

}  // namespace

CacheStore::CacheStore(const CacheStoreOptions& options)
    : options_(options), cache_([this, &options] {
        cache::HotKeyCache::Options o;
        o.capacity_bytes = options.cache_bytes;
        o.shards = options.shards;
        // Runs on the thread whose Admit/UpdateIfPresent caused it, which holds mu_.
        o.on_evict = [this](absl::string_view key) {
          mu_.AssertHeld();
          evicted_.emplace_back(key);
        };
        return o;
      }()) {}

CacheStore::~CacheStore() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

absl::StatusOr<std::unique_ptr<CacheStore>> CacheStore::Open(const CacheStoreOptions& options) {
  std::unique_ptr<CacheStore> edge(new CacheStore(options));
  if (options.data_dir.empty()) return edge;  // in memory only: starts cold
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_total_wal_size = 64ull << 20;
  db_options.keep_log_file_num = 3;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"entries", rocksdb::ColumnFamilyOptions()},
  };
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, options.data_dir, families, &edge->handles_, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && absl::StrContains(s.ToString(), "lock")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data directory ", options.data_dir, " is in use by another process: ", s.ToString()));
    }
    return absl::InternalError(
        absl::StrCat("cannot open the cache store in ", options.data_dir, ": ", s.ToString()));
  }
  edge->db_.reset(raw);
  edge->entries_cf_ = edge->handles_[1];
  if (auto st = edge->Load(); !st.ok()) return st;
  return edge;
}

absl::Status CacheStore::Load() {
  absl::MutexLock l(&mu_);
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[0], kMetaApplied, &value);
  if (s.ok()) {
    uint64_t applied = 0;
    if (!replication::DecodeVersionKey(value, &applied)) {
      return absl::DataLossError("corrupt applied version in the cache store");
    }
    applied_.store(applied);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading the cache store");
  }
  s = db_->Get(rocksdb::ReadOptions(), handles_[0], kMetaCluster, &cluster_id_);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading the cache store");
  s = db_->Get(rocksdb::ReadOptions(), handles_[0], kMetaHistory, &history_id_);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading the cache store");
  if (auto st = LoadClusterData(); !st.ok()) return st;

  // Warm start: everything that was cached, coherent up to the applied version.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), entries_cf_));
  size_t loaded = 0;
  std::vector<std::string> corrupt;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    CachedValue v;
    if (!DecodeEntry(ToView(it->value()), &v)) {
      corrupt.push_back(it->key().ToString());
      continue;
    }
    cache_.Admit(ToView(it->key()), cache::MakeCachedValue(std::move(v)));
    ++loaded;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "loading the cache");
  std::vector<std::string> deletes = std::move(corrupt);
  deletes.insert(deletes.end(), evicted_.begin(), evicted_.end());
  evicted_.clear();
  if (auto st = Persist({}, deletes, false); !st.ok()) return st;
  KV_LOG(INFO) << "cache loaded " << loaded << " entries at version " << applied_.load()
               << (deletes.empty() ? "" : absl::StrCat(" (", deletes.size(), " dropped)"));
  return absl::OkStatus();
}

std::string CacheStore::cluster_id() const {
  absl::MutexLock l(&mu_);
  return cluster_id_;
}

std::string CacheStore::history_id() const {
  absl::MutexLock l(&mu_);
  return history_id_;
}

absl::Status CacheStore::SetHistoryId(const std::string& history_id) {
  absl::MutexLock l(&mu_);
  if (history_id == history_id_) return absl::OkStatus();
  if (!db_) {
    history_id_ = history_id;
    return absl::OkStatus();
  }
  // Written after the StartFrom it follows (the WAL keeps their order): a crash in between
  // leaves the old history, which only gets another RESET.
  if (auto s = FromRocks(db_->Put(rocksdb::WriteOptions(), handles_[0], kMetaHistory, history_id),
                         "persisting the history id");
      !s.ok()) {
    return s;
  }
  history_id_ = history_id;
  return absl::OkStatus();
}

absl::Status CacheStore::Persist(
    const std::vector<std::pair<std::string, std::shared_ptr<const CachedValue>>>& puts,
    const std::vector<std::string>& deletes, bool with_meta) {
  mu_.AssertHeld();
  if (!db_) return absl::OkStatus();  // in memory only
  if (puts.empty() && deletes.empty() && !with_meta) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  for (const auto& [key, value] : puts) batch.Put(entries_cf_, key, EncodeEntry(*value));
  for (const auto& key : deletes) batch.Delete(entries_cf_, key);
  if (with_meta) {
    batch.Put(handles_[0], kMetaApplied, replication::EncodeVersionKey(applied_.load()));
    batch.Put(handles_[0], kMetaCluster, cluster_id_);
  }
  // No fsync: after a power loss the edge resumes from an older applied version and the
  // stream brings the rest again.
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "persisting the cache");
}

absl::Status CacheStore::Apply(const std::vector<std::shared_ptr<const Change>>& changes) {
  if (changes.empty()) return absl::OkStatus();
  std::vector<const Change*> cluster_data;
  {
    absl::MutexLock l(&mu_);
    for (const auto& c : changes) {
      if (c->kind() != Change::KIND_COMMIT && IsReservedKey(c->key())) {
        // Kept apart as well (see ClusterData); it may also be cached, like any key.
        if (auto s = PinLocked(*c); !s.ok()) return s;
        cluster_data.push_back(c.get());
      }
    }
    KeyWrites writes;
    {
      // Readers of several keys see the cache before or after these changes, never between
      // (a commit's parts are applied here together).
      absl::WriterMutexLock view(&view_mu_);
      for (const auto& c : changes) {
        replication::ForEachKeyChange(*c, [this, &writes](const Change& kc, uint64_t version) {
          ApplyKeyLocked(kc, version, &writes);
        });
      }
      applied_.store(changes.back()->version(), std::memory_order_release);
    }
    writes.deletes.insert(writes.deletes.end(), evicted_.begin(), evicted_.end());
    evicted_.clear();
    if (auto s = Persist(writes.puts, writes.deletes, true); !s.ok()) return s;
  }
  if (options_.on_cluster_data) {
    for (const Change* c : cluster_data) options_.on_cluster_data(*c, /*restart=*/false);
  }
  return absl::OkStatus();
}

void CacheStore::ApplyKeyLocked(const Change& c, uint64_t version, KeyWrites* writes) {
  mu_.AssertHeld();
  std::shared_ptr<const CachedValue> value = CachedValueOfChange(c, version);
  // What the cache holds at this very version must be what the stream says it is; the
  // cache never replaces an equal version, so a wrong entry would otherwise stay.
  if (auto cached = cache_.Peek(c.key());
      cached != nullptr && value != nullptr && cached->version == value->version &&
      (cached->found != value->found || cached->value != value->value ||
       cached->metadata != value->metadata || cached->expiration != value->expiration)) {
    if (mismatches_.fetch_add(1) == 0) {
      KV_LOG(ERROR) << "cached entry at version " << version
                    << " differs from the stream's change; dropped";
    }
    // Dropped: the update below finds nothing to replace, and the next read refetches.
    if (cache_.Erase(c.key())) writes->deletes.push_back(c.key());
  }
  if (auto it = pending_.find(c.key()); it != pending_.end()) {
    Pending& p = it->second;
    if (version > p.newest_version) {
      p.newest_version = version;
      p.newest = value;
      p.newest_is_invalidation = value == nullptr;
    }
  }
  if (value != nullptr) {
    if (cache_.UpdateIfPresent(c.key(), value)) writes->puts.emplace_back(c.key(), value);
  } else if (cache_.Erase(c.key())) {
    writes->deletes.push_back(c.key());  // a large value: refetched on the next read
  }
}

uint64_t CacheStore::LookupAll(const google::protobuf::RepeatedPtrField<std::string>& keys,
                               std::vector<std::shared_ptr<const CachedValue>>* out) {
  absl::ReaderMutexLock view(&view_mu_);
  out->clear();
  out->reserve(keys.size());
  for (const auto& key : keys) out->push_back(cache_.Lookup(key));
  return applied_.load(std::memory_order_acquire);
}

bool CacheStore::LookupAllCached(absl::Span<const absl::string_view> keys,
                                 std::vector<std::shared_ptr<const CachedValue>>* out,
                                 uint64_t* as_of) {
  absl::ReaderMutexLock view(&view_mu_);
  return cache_.LookupAllIf(keys, out, [&](absl::Span<const std::shared_ptr<const CachedValue>> v) {
    *as_of = applied_.load(std::memory_order_acquire);
    return NoneNewerThan(v, *as_of);
  });
}

void CacheStore::AdmitLocked(const std::string& key, std::shared_ptr<const CachedValue> value) {
  mu_.AssertHeld();
  bool cached = cache_.Admit(key, value);
  std::vector<std::pair<std::string, std::shared_ptr<const CachedValue>>> puts;
  if (cached) {
    // Persist what the cache holds now (a newer version may have been there already).
    auto held = cache_.Peek(key);
    if (held != nullptr) puts.emplace_back(key, std::move(held));
  }
  std::vector<std::string> deletes = std::move(evicted_);
  evicted_.clear();
  if (auto s = Persist(puts, deletes, false); !s.ok()) {
    KV_LOG(ERROR) << s;
  }
}

bool CacheStore::JoinFetch(const std::string& key, int64_t now_micros, Waiter waiter) {
  absl::MutexLock l(&mu_);
  auto [it, inserted] = pending_.try_emplace(key);
  it->second.waiters.push_back(std::move(waiter));
  if (inserted) {
    it->second.started_micros = now_micros;
    fetches_.fetch_add(1, std::memory_order_relaxed);
  } else {
    coalesced_.fetch_add(1, std::memory_order_relaxed);
  }
  return inserted;
}

void CacheStore::FinishFetch(const std::string& key, const absl::Status& status,
                             const kvstore::v1::FetchResponse& response) {
  FetchOutcome outcome;
  std::vector<Waiter> waiters;
  {
    absl::MutexLock l(&mu_);
    auto node = pending_.extract(key);
    if (node.empty()) return;
    Pending& p = node.mapped();
    waiters = std::move(p.waiters);
    outcome.fetch_started_micros = p.started_micros;
    if (!status.ok()) {
      outcome.status = status;
    } else {
      CachedValue fetched =
          CachedValueOfEntry(response.found(), response.entry(), response.info().as_of_version());
      if (p.newest_version > fetched.version) {
        // The stream overtook the fetch: its change is the newer truth.
        if (p.newest_is_invalidation) {
          outcome.must_forward = true;
        } else {
          outcome.value = p.newest;
          AdmitLocked(key, p.newest);
        }
      } else {
        outcome.value = cache::MakeCachedValue(std::move(fetched));
        outcome.info = response.info();
        AdmitLocked(key, outcome.value);
      }
    }
  }
  for (auto& w : waiters) std::move(w)(outcome);
}

absl::Status CacheStore::StartFrom(uint64_t version, const std::string& cluster_id) {
  absl::MutexLock l(&mu_);
  absl::WriterMutexLock view(&view_mu_);
  cache_.Clear();
  evicted_.clear();
  if (db_) {
    rocksdb::WriteBatch batch;
    std::string lo, hi(65536, '\xff');
    batch.DeleteRange(entries_cf_, lo, hi);
    if (auto s = FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "dropping the cache");
        !s.ok()) {
      return s;
    }
  }
  // Fetches in flight may answer from before `version`, and the changes up to it were skipped,
  // not seen: their answers must not be cached (their readers go upstream, as after an
  // invalidation). Otherwise a "not found" from before a put the restart skipped would stay
  // cached until the key changes again (the HA history checker saw it across a leader kill).
  for (auto& [key, p] : pending_) {
    p.newest.reset();
    p.newest_version = std::max(p.newest_version, version);
    p.newest_is_invalidation = true;
  }
  applied_.store(version, std::memory_order_release);
  cluster_id_ = cluster_id;
  ++epoch_;  // the cluster data held is from before: it must be fetched again
  KV_LOG(INFO) << "cache dropped; following the upstream from version " << version;
  return Persist({}, {}, true);
}

void CacheStore::FillStatus(kvstore::v1::CacheStatus* status) const {
  FillCacheCounters(cache_.GetStats(), status);
  status->set_upstream_fetches(fetches_.load());
  status->set_coalesced_waits(coalesced_.load());
  absl::MutexLock l(&mu_);
  status->set_pending_fetches(pending_.size());
}

}  // namespace kv::server

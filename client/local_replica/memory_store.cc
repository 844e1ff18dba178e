#include "client/local_replica/memory_store.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "replication/checksum.h"

namespace kv::replica {

using kvstore::v1::Change;

// One block per record (from the store's SlabAllocator): this header, then [expiration] key
// metadata (value | value hash).
struct MemoryStore::Record {
  static constexpr uint32_t kHasExpiration = 1u << 31;
  static constexpr uint32_t kValueMissing = 1u << 30;
  static constexpr uint32_t kSizeMask = kValueMissing - 1;

  // The allocator aligns blocks to 4 only (its slots go in steps of 4 bytes, not 8), so the
  // 64-bit version is kept as bytes.
  char version_bytes[8];
  uint32_t value_size_and_flags;
  uint16_t key_size;
  uint16_t metadata_size;

  uint64_t version() const {
    uint64_t v;
    std::memcpy(&v, version_bytes, sizeof v);
    return v;
  }
  void set_version(uint64_t v) { std::memcpy(version_bytes, &v, sizeof v); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  char* data() { return reinterpret_cast<char*>(this + 1); }
  bool has_expiration() const { return value_size_and_flags & kHasExpiration; }
  bool value_missing() const { return value_size_and_flags & kValueMissing; }
  size_t expiration_bytes() const { return has_expiration() ? sizeof(int64_t) : 0; }
  int64_t expiration() const {
    int64_t e = 0;
    if (has_expiration()) std::memcpy(&e, data(), sizeof e);
    return e;
  }
  absl::string_view key() const { return {data() + expiration_bytes(), key_size}; }
  absl::string_view metadata() const {
    return {data() + expiration_bytes() + key_size, metadata_size};
  }
  // The value, or the 8 bytes of its hash when it is missing.
  absl::string_view tail() const {
    return {data() + expiration_bytes() + key_size + metadata_size,
            value_missing() ? sizeof(uint64_t) : (value_size_and_flags & kSizeMask)};
  }
  uint64_t value_hash() const;
  // The whole block, header included.
  size_t block_bytes() const {
    return sizeof(Record) + expiration_bytes() + key_size + metadata_size + tail().size();
  }
};

uint64_t MemoryStore::Record::value_hash() const {
  if (!value_missing()) return replication::ValueHash(tail());
  uint64_t h = 0;
  std::memcpy(&h, tail().data(), sizeof h);
  return h;
}

void MemoryStore::RecordDeleter::operator()(Record* r) const {
  const size_t bytes = r->block_bytes();
  r->~Record();
  records->Free(r, bytes);
}

bool MemoryStore::KeyLess::operator()(const Record* a, const Record* b) const {
  return a->key() < b->key();
}
bool MemoryStore::KeyLess::operator()(const Record* a, absl::string_view b) const {
  return a->key() < b;
}
bool MemoryStore::KeyLess::operator()(absl::string_view a, const Record* b) const {
  return a < b->key();
}

size_t MemoryStore::KeyHash::operator()(const Record* r) const { return absl::HashOf(r->key()); }

bool MemoryStore::KeyEq::operator()(const Record* a, const Record* b) const {
  return a->key() == b->key();
}
bool MemoryStore::KeyEq::operator()(const Record* a, absl::string_view b) const {
  return a->key() == b;
}

MemoryStore::MemoryStore(int shards) {
  shards_.resize(std::max(1, shards));
  for (auto& s : shards_) s = std::make_unique<Shard>();
}

MemoryStore::~MemoryStore() {
  absl::MutexLock l(&apply_mu_);
  Clear();
}

MemoryStore::RecordPtr MemoryStore::MakeRecord(absl::string_view key, absl::string_view value,
                                               absl::string_view metadata, uint64_t version,
                                               int64_t expiration,
                                               std::optional<uint64_t> missing_value_hash) {
  static_assert(sizeof(Record) == 16, "the record header is 16 bytes");
  const size_t expiration_bytes = expiration != 0 ? sizeof(int64_t) : 0;
  const size_t tail = missing_value_hash ? sizeof(uint64_t) : value.size();
  void* block =
      records_.Allocate(sizeof(Record) + expiration_bytes + key.size() + metadata.size() + tail);
  static_assert(alignof(Record) <= SlabAllocator::kAlignment);
  auto* r = new (block) Record;
  r->set_version(version);
  r->value_size_and_flags = missing_value_hash ? 0 : static_cast<uint32_t>(value.size());
  if (expiration != 0) r->value_size_and_flags |= Record::kHasExpiration;
  if (missing_value_hash) r->value_size_and_flags |= Record::kValueMissing;
  r->key_size = static_cast<uint16_t>(key.size());
  r->metadata_size = static_cast<uint16_t>(metadata.size());
  char* p = r->data();
  if (expiration != 0) {
    std::memcpy(p, &expiration, sizeof expiration);
    p += sizeof expiration;
  }
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  std::memcpy(p, metadata.data(), metadata.size());
  p += metadata.size();
  if (missing_value_hash) {
    std::memcpy(p, &*missing_value_hash, sizeof(uint64_t));
  } else {
    std::memcpy(p, value.data(), value.size());
  }
  return RecordPtr(r, RecordDeleter{&records_});
}

uint64_t MemoryStore::TermOf(const Record& r) {
  return replication::RecordTerm(r.key(), r.version(), r.expiration(), r.metadata(),
                                 r.value_hash());
}

void MemoryStore::CopyOut(const Record& r, bool with_value, StoredRecord* out) {
  out->key.assign(r.key().data(), r.key().size());
  out->metadata.assign(r.metadata().data(), r.metadata().size());
  out->version = r.version();
  out->expiration = r.expiration();
  out->value_missing = r.value_missing();
  if (with_value && !r.value_missing()) {
    out->value.assign(r.tail().data(), r.tail().size());
  } else {
    out->value.clear();
  }
}

// The hash's high bits pick the shard: the hash sets use its low bits, which must not be the
// same for every key of a shard.
const MemoryStore::Shard& MemoryStore::ShardFor(absl::string_view key) const {
  return *shards_[((absl::HashOf(key) >> 32) * shards_.size()) >> 32];
}

MemoryStore::Shard& MemoryStore::ShardFor(absl::string_view key) {
  return *shards_[((absl::HashOf(key) >> 32) * shards_.size()) >> 32];
}

std::string MemoryStore::cluster_id() const {
  absl::MutexLock l(&meta_mu_);
  return cluster_id_;
}

std::string MemoryStore::history_id() const {
  absl::MutexLock l(&meta_mu_);
  return history_id_;
}

absl::Status MemoryStore::SetHistoryId(const std::string& history_id) {
  absl::MutexLock l(&meta_mu_);
  history_id_ = history_id;
  return absl::OkStatus();
}

std::string MemoryStore::last_mismatch() const {
  absl::MutexLock l(&meta_mu_);
  return last_mismatch_;
}

void MemoryStore::ReportMismatch(const std::string& what) {
  mismatches_.fetch_add(1);
  {
    absl::MutexLock l(&meta_mu_);
    last_mismatch_ = what;
  }
  if (!diverged_.exchange(true)) {
    KV_LOG(ERROR) << what << "; answering from the upstream and resynchronising by a snapshot";
  }
}

MemoryStore::RecordPtr MemoryStore::Put(absl::string_view key, RecordPtr record) {
  Shard& shard = ShardFor(key);
  RecordPtr old(nullptr, RecordDeleter{&records_});
  std::unique_lock l(shard.mu);
  auto found = shard.by_key.find(key);
  if (found != shard.by_key.end()) {
    old.reset(*found);
    auto ordered = shard.index.find(key);
    if (record != nullptr) {
      // Same key, so hash and order hold: both slots are rewritten in place.
      const_cast<Record*&>(*found) = record.get();
      const_cast<Record*&>(*ordered) = record.release();
    } else {
      shard.by_key.erase(found);
      shard.index.erase(ordered);
    }
  } else if (record != nullptr) {
    shard.by_key.insert(record.get());
    shard.index.insert(record.release());
  }
  return old;
}

void MemoryStore::ApplyOne(const Change& c, uint64_t version) {
  RecordPtr record;
  switch (c.kind()) {
    case Change::KIND_PUT:
      record = MakeRecord(c.key(), c.value(), c.metadata(), version, c.expiration(), std::nullopt);
      break;
    case Change::KIND_INVALIDATE:
      record = MakeRecord(c.key(), {}, c.metadata(), version, c.expiration(), c.value_hash());
      break;
    case Change::KIND_COMMIT:
      for (const Change& part : c.parts()) ApplyOne(part, version);
      return;
    default:  // KIND_DELETE
      break;
  }
  if (record != nullptr) {
    checksum_ += TermOf(*record);
    payload_bytes_.fetch_add(record->key().size() + record->metadata().size() +
                                 (record->value_missing() ? 0 : record->tail().size()),
                             std::memory_order_relaxed);
  }
  const bool adds = record != nullptr;
  RecordPtr old = Put(c.key(), std::move(record));
  if (old != nullptr) {
    checksum_ -= TermOf(*old);
    payload_bytes_.fetch_sub(old->key().size() + old->metadata().size() +
                                 (old->value_missing() ? 0 : old->tail().size()),
                             std::memory_order_relaxed);
  }
  if (adds && old == nullptr) keys_.fetch_add(1, std::memory_order_relaxed);
  if (!adds && old != nullptr) keys_.fetch_sub(1, std::memory_order_relaxed);
}

namespace {

// The record header holds key and metadata sizes in 16 bits and a value size in 30: a record
// beyond them is refused (the whole batch, before anything is applied) rather than cut short.
absl::Status CheckFits(absl::string_view key, size_t value_size, size_t metadata_size) {
  constexpr size_t kMaxKeyOrMetadata = 65535, kMaxValue = (size_t{1} << 30) - 1;
  if (key.size() <= kMaxKeyOrMetadata && metadata_size <= kMaxKeyOrMetadata &&
      value_size <= kMaxValue) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "a local replica holds keys and metadata of at most 65,535 bytes and values under 1 GiB; "
      "key '",
      absl::CHexEscape(key.substr(0, 64)), "' has a ", key.size(), "-byte key, ", metadata_size,
      " bytes of metadata and a ", value_size, "-byte value"));
}

absl::Status CheckFits(const Change& c) {
  for (const Change& part : c.parts()) {
    if (auto s = CheckFits(part); !s.ok()) return s;
  }
  return CheckFits(c.key(), c.value().size(), c.metadata().size());
}

}  // namespace

absl::Status MemoryStore::Apply(const std::vector<std::shared_ptr<const Change>>& changes) {
  if (changes.empty()) return absl::OkStatus();
  for (const auto& c : changes) {
    if (auto s = CheckFits(*c); !s.ok()) return s;
  }
  absl::MutexLock l(&apply_mu_);
  seq_.fetch_add(1, std::memory_order_acq_rel);  // odd: a batch is being applied
  std::string mismatch;
  for (const auto& c : changes) {
    ApplyOne(*c, c->version());
    if (c->has_checksum() && c->checksum() != checksum_ && mismatch.empty()) {
      mismatch = absl::StrCat("checksum mismatch after version ", c->version(), ": this copy's is ",
                              absl::Hex(checksum_, absl::kZeroPad16), ", the central node's is ",
                              absl::Hex(c->checksum(), absl::kZeroPad16));
    }
  }
  applied_.store(changes.back()->version(), std::memory_order_release);
  seq_.fetch_add(1, std::memory_order_acq_rel);  // even: the batch is whole
  if (!mismatch.empty()) {
    ReportMismatch(mismatch);
    return absl::InternalError(mismatch);
  }
  return absl::OkStatus();
}

void MemoryStore::Clear() {
  for (auto& shard : shards_) {
    Index drop;
    {
      std::unique_lock l(shard->mu);
      drop.swap(shard->index);
      ByKey().swap(shard->by_key);
    }
  }
  // Every record is unlinked: their memory goes back all at once.
  records_.Clear();
  checksum_ = 0;
  keys_.store(0);
  payload_bytes_.store(0);
}

absl::Status MemoryStore::BeginSnapshot() {
  absl::MutexLock l(&apply_mu_);
  bootstrapped_.store(false, std::memory_order_release);
  seq_.fetch_add(1, std::memory_order_acq_rel);
  Clear();
  snapshot_checksum_.reset();
  seq_.fetch_add(1, std::memory_order_acq_rel);
  return absl::OkStatus();
}

absl::Status MemoryStore::ApplySnapshotChunk(const kvstore::v1::SnapshotChunk& chunk) {
  for (const auto& e : chunk.entries()) {
    if (auto s = CheckFits(e.key(), e.value().size(), e.metadata().size()); !s.ok()) return s;
  }
  for (const auto& e : chunk.missing_values()) {
    if (auto s = CheckFits(e.key(), 0, e.metadata().size()); !s.ok()) return s;
  }
  absl::MutexLock l(&apply_mu_);
  if (chunk.has_checksum()) snapshot_checksum_ = chunk.checksum();
  // Not served until FinishSnapshot, so no sequence bump is needed.
  Change c;
  for (const auto& e : chunk.entries()) {
    c.set_kind(Change::KIND_PUT);
    c.set_key(e.key());
    c.set_value(e.value());
    c.set_metadata(e.metadata());
    c.set_expiration(e.expiration());
    ApplyOne(c, e.version());
  }
  for (int i = 0; i < chunk.missing_values_size(); ++i) {
    const auto& e = chunk.missing_values(i);
    c.Clear();
    c.set_kind(Change::KIND_INVALIDATE);
    c.set_key(e.key());
    c.set_metadata(e.metadata());
    c.set_expiration(e.expiration());
    c.set_value_hash(i < chunk.missing_value_hashes_size() ? chunk.missing_value_hashes(i) : 0);
    ApplyOne(c, e.version());
  }
  return absl::OkStatus();
}

absl::Status MemoryStore::FinishSnapshot(uint64_t version, const std::string& cluster_id) {
  std::string mismatch;
  {
    absl::MutexLock l(&apply_mu_);
    if (snapshot_checksum_ && *snapshot_checksum_ != checksum_) {
      mismatch = absl::StrCat("checksum mismatch after the snapshot at version ", version,
                              ": this copy's is ", absl::Hex(checksum_, absl::kZeroPad16),
                              ", the central node's is ",
                              absl::Hex(*snapshot_checksum_, absl::kZeroPad16));
    }
    {
      absl::MutexLock m(&meta_mu_);
      cluster_id_ = cluster_id;
    }
    seq_.fetch_add(1, std::memory_order_acq_rel);
    applied_.store(version, std::memory_order_release);
    seq_.fetch_add(1, std::memory_order_acq_rel);
  }
  if (!mismatch.empty()) {
    ReportMismatch(mismatch);
    return absl::InternalError(mismatch);
  }
  diverged_.store(false, std::memory_order_release);
  bootstrapped_.store(true, std::memory_order_release);
  KV_LOG(INFO) << "local replica holds " << key_count() << " keys at version " << version;
  return absl::OkStatus();
}

bool MemoryStore::Get(absl::string_view key, StoredRecord* out) const {
  const Shard& shard = ShardFor(key);
  std::shared_lock l(shard.mu);
  auto it = shard.by_key.find(key);
  if (it == shard.by_key.end()) return false;
  CopyOut(**it, /*with_value=*/true, out);
  return true;
}

template <typename Read>
void MemoryStore::ReadConsistent(Read&& read) const {
  constexpr int kOptimisticTries = 4;
  for (int i = 0; i < kOptimisticTries; ++i) {
    const uint64_t before = seq_.load(std::memory_order_acquire);
    if (before % 2 != 0) continue;  // a batch is being applied
    read();
    // The shard locks order the reads after any change they saw, and that change after the
    // odd bump: an unchanged even number means no batch overlapped the reads.
    if (seq_.load(std::memory_order_acquire) == before) return;
  }
  absl::MutexLock l(&apply_mu_);
  read();
}

void MemoryStore::BatchGet(const std::vector<std::string>& keys,
                           std::vector<std::optional<StoredRecord>>* out, uint64_t* as_of) const {
  ReadConsistent([&] {
    *as_of = applied_.load(std::memory_order_acquire);
    out->assign(keys.size(), std::nullopt);
    for (size_t i = 0; i < keys.size(); ++i) {
      StoredRecord r;
      if (Get(keys[i], &r)) (*out)[i] = std::move(r);
    }
  });
}

void MemoryStore::List(absl::string_view prefix, absl::string_view after, size_t limit,
                       bool with_values, int64_t now_unix, std::vector<StoredRecord>* out,
                       bool* more, uint64_t* as_of) const {
  limit = std::max<size_t>(limit, 1);
  ReadConsistent([&] {
    *as_of = applied_.load(std::memory_order_acquire);
    out->clear();
    *more = false;
    // Each shard gives its first limit + 1 keys in range; the merged first `limit` are the page.
    std::vector<const Record*> candidates;
    std::vector<std::shared_lock<std::shared_mutex>> locks;
    locks.reserve(shards_.size());
    for (const auto& shard : shards_) {
      locks.emplace_back(shard->mu);
      auto it = after.empty() || after < prefix ? shard->index.lower_bound(prefix)
                                                : shard->index.upper_bound(after);
      for (size_t n = 0; it != shard->index.end() && n <= limit; ++it) {
        if (!absl::StartsWith((*it)->key(), prefix)) break;
        const int64_t expiration = (*it)->expiration();
        if (expiration != 0 && expiration <= now_unix) continue;  // expired: absent
        candidates.push_back(*it);
        ++n;
      }
    }
    std::sort(candidates.begin(), candidates.end(), KeyLess());
    *more = candidates.size() > limit;
    if (candidates.size() > limit) candidates.resize(limit);
    out->resize(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) {
      CopyOut(*candidates[i], with_values, &(*out)[i]);
    }
  });
}

}  // namespace kv::replica

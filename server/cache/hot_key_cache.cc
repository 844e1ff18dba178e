#include "server/cache/hot_key_cache.h"

#include <algorithm>
#include <string>
#include <utility>

namespace kv::server::cache {

HotKeyCache::HotKeyCache(Options options) : options_(std::move(options)) {
  const size_t n = static_cast<size_t>(std::max(options_.shards, 1));
  WTinyLfu::Options o;
  o.capacity_bytes = options_.capacity_bytes / n;
  o.window_fraction = options_.window_fraction;
  o.protected_fraction = options_.protected_fraction;
  const size_t expected =
      options_.expected_entries != 0
          ? options_.expected_entries
          : std::min(options_.capacity_bytes / std::max<size_t>(options_.expected_entry_bytes, 1),
                     options_.max_initial_entries);
  o.expected_entries = std::max<size_t>(expected / n, 1);
  o.sample_factor = options_.sample_factor;
  o.doorkeeper = options_.doorkeeper;
  o.random_admission = options_.random_admission;
  shards_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    o.seed = options_.seed + i;
    shards_.push_back(std::make_unique<Shard>(o));
  }
}

HotKeyCache::~HotKeyCache() = default;

size_t HotKeyCache::ShardIndex(uint64_t hash) const {
  // The top bits pick the shard; the table and the sketch re-mix the hash, so keys of one
  // shard still spread over their whole structures.
  return static_cast<size_t>(((hash >> 32) * shards_.size()) >> 32);
}

void HotKeyCache::Dispose(WTinyLfu::Garbage& garbage) const {
  if (options_.on_evict) {
    for (const auto& e : garbage.evicted) options_.on_evict(e->key());
  }
  // Entries and values are freed here, when `garbage` goes out of scope, not under the lock.
}

template <typename Fn>
auto HotKeyCache::WithPolicy(absl::string_view key, Fn fn) const {
  const HashedKey k(key);
  Shard& s = ShardFor(k.hash);
  absl::MutexLock lock(&s.mu);
  return fn(s.policy, k);
}

std::shared_ptr<const CachedValue> HotKeyCache::Lookup(absl::string_view key) {
  return WithPolicy(key, [](WTinyLfu& p, const HashedKey& k) { return p.Lookup(k); });
}

std::shared_ptr<const CachedValue> HotKeyCache::LookupIfCached(absl::string_view key) {
  return WithPolicy(key, [](WTinyLfu& p, const HashedKey& k) { return p.LookupIfCached(k); });
}

// A batch's keys, hashed, and the locks of their shards, taken in shard order and each once:
// two batches never wait for each other's locks in a cycle, and nothing else holds more than
// one shard lock. Uses this thread's scratch vectors: one LockedBatch per thread at a time.
class HotKeyCache::LockedBatch {
 public:
  // wait = false (a hint): takes only the locks that are free now and drops the keys of the
  // other shards, so it never waits for anyone and never makes anyone wait for long.
  LockedBatch(const HotKeyCache& cache, absl::Span<const absl::string_view> keys, bool wait = true)
      ABSL_NO_THREAD_SAFETY_ANALYSIS  // locks a set of shards chosen at run time
      : cache_(cache) {
    hashed_.clear();
    shard_of_.clear();
    for (absl::string_view key : keys) {
      hashed_.emplace_back(key);
      shard_of_.push_back(static_cast<uint32_t>(cache.ShardIndex(hashed_.back().hash)));
    }
    locked_ = shard_of_;
    std::sort(locked_.begin(), locked_.end());
    locked_.erase(std::unique(locked_.begin(), locked_.end()), locked_.end());
    if (wait) {
      for (uint32_t i : locked_) cache_.shards_[i]->mu.Lock();
      return;
    }
    size_t held = 0;
    for (uint32_t i : locked_) {
      if (cache_.shards_[i]->mu.TryLock()) locked_[held++] = i;
    }
    locked_.resize(held);
    size_t kept = 0;
    for (size_t j = 0; j < hashed_.size(); ++j) {
      if (!std::binary_search(locked_.begin(), locked_.end(), shard_of_[j])) continue;
      hashed_[kept] = hashed_[j];
      shard_of_[kept] = shard_of_[j];
      ++kept;
    }
    hashed_.erase(hashed_.begin() + kept, hashed_.end());
    shard_of_.resize(kept);
  }
  ~LockedBatch() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (auto it = locked_.rbegin(); it != locked_.rend(); ++it) cache_.shards_[*it]->mu.Unlock();
  }
  LockedBatch(const LockedBatch&) = delete;
  LockedBatch& operator=(const LockedBatch&) = delete;

  size_t size() const { return hashed_.size(); }
  const HashedKey& key(size_t i) const { return hashed_[i]; }
  // The policy of key i's shard, whose lock this batch holds.
  WTinyLfu& policy(size_t i) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return cache_.shards_[shard_of_[i]]->policy;
  }
  // Stages 1 and 2 of a lookup for every key (WTinyLfu::PrefetchSlot, PrefetchEntry).
  void PrefetchAll() const {
    for (size_t i = 0; i < size(); ++i) policy(i).PrefetchSlot(key(i));
    for (size_t i = 0; i < size(); ++i) policy(i).PrefetchEntry(key(i));
  }

 private:
  const HotKeyCache& cache_;
  static thread_local std::vector<HashedKey> hashed_;
  static thread_local std::vector<uint32_t> shard_of_;
  static thread_local std::vector<uint32_t> locked_;
};

thread_local std::vector<HashedKey> HotKeyCache::LockedBatch::hashed_;
thread_local std::vector<uint32_t> HotKeyCache::LockedBatch::shard_of_;
thread_local std::vector<uint32_t> HotKeyCache::LockedBatch::locked_;

bool HotKeyCache::LookupAllIf(
    absl::Span<const absl::string_view> keys, std::vector<std::shared_ptr<const CachedValue>>* out,
    absl::FunctionRef<bool(absl::Span<const std::shared_ptr<const CachedValue>>)> accept) {
  out->clear();
  thread_local std::vector<const CacheNode*> found;  // reused by this thread's batches
  bool hit = true;
  {
    const LockedBatch batch(*this, keys);
    batch.PrefetchAll();
    found.clear();
    for (size_t i = 0; i < batch.size() && hit; ++i) {
      found.push_back(batch.policy(i).FindForBatch(batch.key(i)));
      hit = found.back() != nullptr;
    }
    if (hit) {
      for (const CacheNode* e : found) out->push_back(e->value);
      hit = accept(*out);
    }
    if (hit) {
      for (size_t i = 0; i < batch.size(); ++i) batch.policy(i).RecordHitOf(found[i], batch.key(i));
    }
  }
  if (!hit) out->clear();  // released outside the locks
  return hit;
}

void HotKeyCache::Prefetch(absl::Span<const absl::string_view> keys) const {
  thread_local std::vector<const CacheNode*> found;  // reused by this thread's hints
  const LockedBatch batch(*this, keys, /*wait=*/false);
  batch.PrefetchAll();
  // Each stage waits at most once for the whole batch: the fetches it needs were started by the
  // stage before, for every key.
  found.clear();
  for (size_t i = 0; i < batch.size(); ++i) {
    if (const CacheNode* e = batch.policy(i).FindForBatch(batch.key(i))) found.push_back(e);
  }
  for (const CacheNode* e : found) WTinyLfu::PrefetchValueBytes(e);
}

std::shared_ptr<const CachedValue> HotKeyCache::Peek(absl::string_view key) const {
  return WithPolicy(key, [](WTinyLfu& p, const HashedKey& k) { return p.Peek(k); });
}

void HotKeyCache::RecordAccess(absl::string_view key) {
  WithPolicy(key, [](WTinyLfu& p, const HashedKey& k) { p.RecordAccess(k); });
}

bool HotKeyCache::Admit(absl::string_view key, std::shared_ptr<const CachedValue> value) {
  return AdmitIf(key, std::move(value), [] { return true; });
}

bool HotKeyCache::AdmitIf(absl::string_view key, std::shared_ptr<const CachedValue> value,
                          absl::FunctionRef<bool()> still_valid) {
  if (value == nullptr) return false;
  const HashedKey k(key);
  Shard& s = ShardFor(k.hash);
  WTinyLfu::Garbage garbage;
  bool cached = false;
  {
    absl::MutexLock lock(&s.mu);
    if (still_valid()) cached = s.policy.Admit(k, std::move(value), &garbage);
  }
  Dispose(garbage);
  return cached;
}

bool HotKeyCache::UpdateIfPresent(absl::string_view key, std::shared_ptr<const CachedValue> value) {
  if (value == nullptr) return false;
  const HashedKey k(key);
  Shard& s = ShardFor(k.hash);
  WTinyLfu::Garbage garbage;
  bool applied;
  {
    absl::MutexLock lock(&s.mu);
    applied = s.policy.UpdateIfPresent(k, std::move(value), &garbage);
  }
  Dispose(garbage);
  return applied;
}

bool HotKeyCache::Erase(absl::string_view key) {
  const HashedKey k(key);
  Shard& s = ShardFor(k.hash);
  WTinyLfu::Garbage garbage;
  bool erased;
  {
    absl::MutexLock lock(&s.mu);
    erased = s.policy.Erase(k, &garbage);
  }
  Dispose(garbage);
  return erased;
}

void HotKeyCache::Clear() {
  for (auto& s : shards_) {
    WTinyLfu::Garbage garbage;
    {
      absl::MutexLock lock(&s->mu);
      s->policy.Clear(&garbage);
    }
    Dispose(garbage);
  }
}

HotKeyCache::Stats HotKeyCache::GetStats() const {
  Stats st;
  for (const auto& s : shards_) {
    absl::MutexLock lock(&s->mu);
    const WTinyLfu::Counters c = s->policy.counters();
    st.hits += c.hits;
    st.misses += c.misses;
    st.window_admissions += c.window_admissions;
    st.protected_promotions += c.protected_promotions;
    st.evictions += c.evictions;
    st.rejections += c.rejections;
    st.too_large += c.too_large;
    st.entries += s->policy.entries();
    st.negative_entries += s->policy.negative_entries();
    st.bytes_used += s->policy.bytes_used();
    st.bytes_limit += s->policy.capacity_bytes();
  }
  return st;
}

void HotKeyCache::ForEach(
    absl::FunctionRef<void(absl::string_view key, const std::shared_ptr<const CachedValue>&)> fn)
    const {
  std::vector<std::pair<std::string, std::shared_ptr<const CachedValue>>> copy;
  for (const auto& s : shards_) {
    copy.clear();
    {
      absl::MutexLock lock(&s->mu);
      copy.reserve(s->policy.entries());
      s->policy.ForEach(
          [&](const CacheNode& e) { copy.emplace_back(std::string(e.key()), e.value); });
    }
    for (const auto& [key, value] : copy) fn(key, value);
  }
}

}  // namespace kv::server::cache

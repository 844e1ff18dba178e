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

bool HotKeyCache::TouchIfCached(absl::string_view key) {
  return WithPolicy(key, [](WTinyLfu& p, const HashedKey& k) { return p.TouchIfCached(k); });
}

bool HotKeyCache::LookupAllIf(
    absl::Span<const absl::string_view> keys, std::vector<std::shared_ptr<const CachedValue>>* out,
    absl::FunctionRef<bool(absl::Span<const std::shared_ptr<const CachedValue>>)> accept)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {  // locks a set of shards chosen at run time
  out->clear();
  // Reused by this thread's batches.
  thread_local std::vector<HashedKey> hashed;
  thread_local std::vector<uint32_t> shard_of;
  thread_local std::vector<uint32_t> locked;
  thread_local std::vector<const CacheNode*> found;
  hashed.clear();
  shard_of.clear();
  locked.clear();
  for (absl::string_view key : keys) {
    hashed.emplace_back(key);
    shard_of.push_back(static_cast<uint32_t>(ShardIndex(hashed.back().hash)));
  }
  // In shard order, each once: two batches never wait for each other's locks in a cycle, and
  // nothing else holds more than one shard lock.
  locked = shard_of;
  std::sort(locked.begin(), locked.end());
  locked.erase(std::unique(locked.begin(), locked.end()), locked.end());
  for (uint32_t i : locked) shards_[i]->mu.Lock();
  auto policy = [&](size_t i) -> WTinyLfu& { return shards_[shard_of[i]]->policy; };
  for (size_t i = 0; i < keys.size(); ++i) policy(i).PrefetchSlot(hashed[i]);
  for (size_t i = 0; i < keys.size(); ++i) policy(i).PrefetchEntry(hashed[i]);
  found.clear();
  bool hit = true;
  for (size_t i = 0; i < keys.size() && hit; ++i) {
    found.push_back(policy(i).FindForBatch(hashed[i]));
    hit = found.back() != nullptr;
  }
  if (hit) {
    for (const CacheNode* e : found) out->push_back(e->value);
    hit = accept(*out);
  }
  if (hit) {
    for (size_t i = 0; i < keys.size(); ++i) policy(i).RecordHitOf(found[i], hashed[i]);
  }
  for (auto it = locked.rbegin(); it != locked.rend(); ++it) shards_[*it]->mu.Unlock();
  if (!hit) out->clear();  // released outside the locks
  return hit;
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

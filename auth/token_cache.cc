#include "auth/token_cache.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace kv::auth {
namespace {

size_t RoundUpPowerOfTwo(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

size_t ShardCount(const TokenCacheOptions& options) {
  return RoundUpPowerOfTwo(std::max<size_t>(options.shards, 1));
}

}  // namespace

TokenCache::TokenCache(TokenCacheOptions options)
    : per_shard_capacity_((options.capacity + ShardCount(options) - 1) / ShardCount(options)) {
  shards_.reserve(ShardCount(options));
  for (size_t i = 0; i < ShardCount(options); ++i) shards_.push_back(std::make_unique<Shard>());
}

TokenCache::Digest TokenCache::DigestOf(absl::string_view token) {
  Digest d;
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
  return d;
}

TokenCache::Shard& TokenCache::ShardFor(const Digest& digest) {
  uint64_t bits;
  std::memcpy(&bits, digest.data() + 24, sizeof(bits));  // uniform: it is a SHA-256
  return *shards_[bits & (shards_.size() - 1)];
}

std::shared_ptr<const Principal> TokenCache::Lookup(const Digest& digest, uint64_t generation,
                                                    int64_t now_unix_micros) {
  if (per_shard_capacity_ == 0) return nullptr;
  Shard& shard = ShardFor(digest);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.index.find(digest);
  if (it == shard.index.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  std::list<Entry>::iterator entry = it->second;
  if (entry->generation != generation || now_unix_micros >= entry->expires_unix_micros) {
    shard.lru.erase(entry);
    shard.index.erase(it);
    expirations_.fetch_add(1, std::memory_order_relaxed);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, entry);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return entry->principal;
}

void TokenCache::Insert(const Digest& digest, uint64_t generation, int64_t expires_unix_micros,
                        std::shared_ptr<const Principal> principal) {
  if (per_shard_capacity_ == 0) return;
  Shard& shard = ShardFor(digest);
  std::shared_ptr<const Principal> dropped;  // released after the lock
  absl::MutexLock lock(&shard.mu);
  if (auto it = shard.index.find(digest); it != shard.index.end()) {
    it->second->generation = generation;
    it->second->expires_unix_micros = expires_unix_micros;
    dropped = std::exchange(it->second->principal, std::move(principal));
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return;
  }
  if (shard.index.size() >= per_shard_capacity_) {
    Entry& victim = shard.lru.back();
    dropped = std::move(victim.principal);
    shard.index.erase(victim.digest);
    shard.lru.pop_back();
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  shard.lru.push_front(Entry{digest, generation, expires_unix_micros, std::move(principal)});
  shard.index.emplace(digest, shard.lru.begin());
  inserts_.fetch_add(1, std::memory_order_relaxed);
}

void TokenCache::Clear() {
  for (auto& shard : shards_) {
    std::list<Entry> old;
    {
      absl::MutexLock lock(&shard->mu);
      old.swap(shard->lru);
      shard->index.clear();
    }
  }
}

TokenCacheStats TokenCache::stats() const {
  TokenCacheStats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.inserts = inserts_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.expirations = expirations_.load(std::memory_order_relaxed);
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    s.size += shard->index.size();
  }
  return s;
}

}  // namespace kv::auth

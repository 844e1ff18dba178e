#pragma once
// Remembers tokens that verified, so a client presenting the same token again costs a SHA-256
// of the token and a hash lookup instead of a signature check.
//
// Keyed by the SHA-256 of the token bytes (the cache never holds tokens, and a collision would
// need a SHA-256 collision). Each entry holds the shared Principal, the instant the token stops
// being acceptable (exp + skew) and the key-set generation that verified it: a lookup at or
// after the expiry, or under another generation, is a miss and drops the entry. Bounded:
// `capacity` entries spread over `shards` shards, each an LRU list under its own mutex, so
// threads contend only when their tokens hash to the same shard.
//
// Thread-safe. Counters are approximate under concurrency (relaxed atomics).

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "auth/principal.h"

namespace kv::auth {

struct TokenCacheOptions {
  // Most entries kept (0 disables the cache).
  size_t capacity = 65536;
  // Independent LRU shards (rounded up to a power of two).
  size_t shards = 16;
};

struct TokenCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t inserts = 0;
  uint64_t evictions = 0;    // dropped to make room
  uint64_t expirations = 0;  // dropped because expired or of an older generation
  size_t size = 0;
};

class TokenCache {
 public:
  using Digest = std::array<uint8_t, 32>;

  explicit TokenCache(TokenCacheOptions options = {});
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  static Digest DigestOf(absl::string_view token);

  // The principal of a live entry, or null.
  std::shared_ptr<const Principal> Lookup(const Digest& digest, uint64_t generation,
                                          int64_t now_unix_micros);
  // Adds or replaces an entry valid until `expires_unix_micros` (exclusive).
  void Insert(const Digest& digest, uint64_t generation, int64_t expires_unix_micros,
              std::shared_ptr<const Principal> principal);
  // Drops every entry (after a key-set change, to free memory at once).
  void Clear();

  TokenCacheStats stats() const;

 private:
  struct Entry {
    Digest digest;
    uint64_t generation;
    int64_t expires_unix_micros;
    std::shared_ptr<const Principal> principal;
  };
  struct Shard {
    absl::Mutex mu;
    std::list<Entry> lru ABSL_GUARDED_BY(mu);  // most recently used first
    absl::flat_hash_map<Digest, std::list<Entry>::iterator> index ABSL_GUARDED_BY(mu);
  };

  Shard& ShardFor(const Digest& digest);

  const size_t per_shard_capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> inserts_{0};
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> expirations_{0};
};

}  // namespace kv::auth

#pragma once
// One 64-bit hash per key, computed once per operation and used for the shard, the hash table
// and the frequency sketch. Deterministic across runs (unlike absl::Hash, which is seeded per
// process) so that simulations with a fixed seed are reproducible.

#include <cstdint>
#include <cstring>

#include "absl/strings/string_view.h"

namespace kv::server::cache {

// A strong 64-bit finaliser (splitmix64's): every input bit affects every output bit.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

inline uint64_t HashKey(absl::string_view key) {
  uint64_t h = 0x243f6a8885a308d3ULL ^ (key.size() * 0x9e3779b97f4a7c15ULL);
  const char* p = key.data();
  size_t n = key.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = Mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  return Mix64(h ^ tail ^ (uint64_t{n} << 56));
}

// A key with its hash, for heterogeneous lookups in the cache's table.
struct HashedKey {
  explicit HashedKey(absl::string_view k) : key(k), hash(HashKey(k)) {}
  absl::string_view key;
  uint64_t hash;
};

}  // namespace kv::server::cache

#pragma once
// What the hot-key cache holds for one key: a value, or a remembered "not found".

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace kv::server::cache {

struct CachedValue {
  // false: a cached "not found" (negative entry); `value` and `metadata` are then empty and
  // `version` is the as-of version at which the absence was observed.
  bool found = false;
  std::string value;
  std::string metadata;
  // The write version of the value (or the as-of version of the absence). The cache never
  // replaces an entry with one of a lower or equal version.
  uint64_t version = 0;
  // Unix seconds after which the value is absent; 0 = never. The cache does not look at it:
  // readers check it against their clock.
  int64_t expiration = 0;
};

// Builds a CachedValue in one allocation (value + shared_ptr control block), the layout the
// cache's memory accounting assumes. Values made another way (shared_ptr(new ...)) cost one
// extra small allocation that the charge does not see.
std::shared_ptr<const CachedValue> MakeCachedValue(CachedValue v);

// Heap bytes of the single allocation MakeCachedValue/std::make_shared makes for a CachedValue
// (control block + object), measured once from the allocator.
size_t SharedValueBlockBytes();

// Heap bytes a cached value holds: the shared block plus its strings' buffers.
size_t ValueHeapBytes(const CachedValue& v);

}  // namespace kv::server::cache

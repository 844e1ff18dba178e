#include "server/cache/cached_value.h"

#include <utility>

#include "server/cache/heap_bytes.h"

namespace kv::server::cache {
namespace {

// Set by RecordingAllocator: the real size of the last block it handed out on this thread.
thread_local size_t last_block_bytes = 0;

// Stateless (so make_shared's block layout is unchanged) allocator that records block sizes.
template <typename T>
struct RecordingAllocator {
  using value_type = T;
  RecordingAllocator() = default;
  template <typename U>
  RecordingAllocator(const RecordingAllocator<U>&) {}
  T* allocate(size_t n) {
    T* p = std::allocator<T>().allocate(n);
    last_block_bytes = AllocationBytes(p, n * sizeof(T));
    return p;
  }
  void deallocate(T* p, size_t n) { std::allocator<T>().deallocate(p, n); }
  template <typename U>
  bool operator==(const RecordingAllocator<U>&) const {
    return true;
  }
};

}  // namespace

std::shared_ptr<const CachedValue> MakeCachedValue(CachedValue v) {
  return std::make_shared<const CachedValue>(std::move(v));
}

size_t SharedValueBlockBytes() {
  // An empty allocator takes no room in the block (EBO), so this block has exactly the size
  // of std::make_shared's.
  static const size_t bytes = [] {
    auto probe = std::allocate_shared<CachedValue>(RecordingAllocator<CachedValue>());
    return last_block_bytes;
  }();
  return bytes;
}

size_t ValueHeapBytes(const CachedValue& v) {
  return SharedValueBlockBytes() + StringHeapBytes(v.value) + StringHeapBytes(v.metadata);
}

}  // namespace kv::server::cache

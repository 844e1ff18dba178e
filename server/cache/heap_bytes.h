#pragma once
// The real heap cost of allocations, for the cache's byte budget. The budget is meant to bound
// process memory, so charges are read from the allocator (malloc_usable_size) instead of being
// estimated from sizeof(): a 17-byte key really costs a 32-byte chunk.

#include <cstddef>
#include <memory>
#include <string>

namespace kv::server::cache {

// Heap bytes held by one live allocation `p` of `requested` bytes (from malloc/operator new):
// on glibc the chunk's usable size plus its size header; elsewhere an estimate from `requested`.
// 0 for nullptr.
size_t AllocationBytes(const void* p, size_t requested);

// Heap bytes behind a string's characters; 0 when they sit inline (small-string optimisation).
size_t StringHeapBytes(const std::string& s);

// A std allocator that adds the real heap cost of what it allocates to `*bytes` and subtracts it
// again on deallocation. Used for the hash table's backing array, whose size is otherwise
// invisible. Not thread-safe: the counter is owned by one shard, under that shard's lock.
template <typename T>
class CountingAllocator {
 public:
  using value_type = T;

  explicit CountingAllocator(size_t* bytes) : bytes_(bytes) {}
  template <typename U>
  CountingAllocator(const CountingAllocator<U>& other) : bytes_(other.bytes()) {}

  T* allocate(size_t n) {
    T* p = std::allocator<T>().allocate(n);
    *bytes_ += AllocationBytes(p, n * sizeof(T));
    return p;
  }
  void deallocate(T* p, size_t n) {
    *bytes_ -= AllocationBytes(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }

  size_t* bytes() const { return bytes_; }

  template <typename U>
  bool operator==(const CountingAllocator<U>& other) const {
    return bytes_ == other.bytes();
  }

 private:
  size_t* bytes_;
};

}  // namespace kv::server::cache

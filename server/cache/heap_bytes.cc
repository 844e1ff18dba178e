#include "server/cache/heap_bytes.h"

#include <cstdint>
#include <functional>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace kv::server::cache {

size_t AllocationBytes(const void* p, size_t requested) {
  if (p == nullptr) return 0;
#if defined(__GLIBC__)
  // A live glibc chunk is its usable size plus one size_t header (the previous chunk's size
  // field overlaps our usable tail). mallinfo2().uordblks counts exactly this.
  return malloc_usable_size(const_cast<void*>(p)) + sizeof(size_t);
#else
  // Typical 16-byte size classes with an 8-byte header.
  return ((requested + sizeof(size_t) + 15) / 16) * 16;
#endif
}

size_t StringHeapBytes(const std::string& s) {
  const auto data = reinterpret_cast<uintptr_t>(s.data());
  const auto self = reinterpret_cast<uintptr_t>(&s);
  if (data >= self && data < self + sizeof(s)) return 0;  // inline buffer
  return AllocationBytes(s.data(), s.capacity() + 1);
}

}  // namespace kv::server::cache

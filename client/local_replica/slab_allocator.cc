#include "client/local_replica/slab_allocator.h"

#include <sanitizer/asan_interface.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <new>

namespace kv::replica {

// At the start of each slab; its slots follow. A free slot holds the next free slot's address.
struct SlabAllocator::Slab {
  Slab* prev = nullptr;  // in its class's with_room list
  Slab* next = nullptr;
  void* free = nullptr;
  uint32_t bytes = 0;  // the whole slab, this header included
  uint32_t slot_bytes = 0;
  uint32_t capacity = 0;
  uint32_t used = 0;
  uint32_t carved = 0;  // slots taken from the untouched tail so far (before the free list)
  bool listed = false;  // in with_room

  char* slots() { return reinterpret_cast<char*>(this) + kHeaderBytes; }
  static constexpr size_t kHeaderBytes = 48;
};

SlabAllocator::SlabAllocator() : classes_(ClassOf(kMaxSlotBytes) + 1) {}

SlabAllocator::~SlabAllocator() { Clear(); }

void SlabAllocator::Unlink(Class& c, Slab* slab) {
  if (!slab->listed) return;
  if (slab->prev != nullptr) slab->prev->next = slab->next;
  if (slab->next != nullptr) slab->next->prev = slab->prev;
  if (c.with_room == slab) c.with_room = slab->next;
  slab->prev = slab->next = nullptr;
  slab->listed = false;
}

void SlabAllocator::PushRoom(Class& c, Slab* slab) {
  if (slab->listed) return;
  slab->prev = nullptr;
  slab->next = c.with_room;
  if (c.with_room != nullptr) c.with_room->prev = slab;
  c.with_room = slab;
  slab->listed = true;
}

SlabAllocator::Slab* SlabAllocator::NewSlab(size_t cls) {
  static_assert(sizeof(Slab) <= Slab::kHeaderBytes && Slab::kHeaderBytes % kAlignment == 0);
  static_assert(kMaxSlabBytes >= Slab::kHeaderBytes + 2 * kMaxSlotBytes);
  Class& c = classes_[cls];
  const size_t slot_bytes = cls * kAlignment;
  const size_t bytes =
      std::clamp((c.bytes / 8 + kAlignment - 1) / kAlignment * kAlignment,
                 std::max(kMinSlabBytes, Slab::kHeaderBytes + 2 * slot_bytes), kMaxSlabBytes);
  auto* slab = new (::operator new(bytes)) Slab;
  slab->bytes = static_cast<uint32_t>(bytes);
  slab->slot_bytes = static_cast<uint32_t>(slot_bytes);
  slab->capacity = static_cast<uint32_t>((bytes - Slab::kHeaderBytes) / slab->slot_bytes);
  ASAN_POISON_MEMORY_REGION(slab->slots(), bytes - Slab::kHeaderBytes);
  slabs_.insert(slab);
  slab_bytes_ += bytes;
  c.bytes += bytes;
  PushRoom(c, slab);
  return slab;
}

void SlabAllocator::ReleaseSlab(Slab* slab) {
  Class& c = classes_[slab->slot_bytes / kAlignment];
  Unlink(c, slab);
  slabs_.erase(slab);
  slab_bytes_ -= slab->bytes;
  c.bytes -= slab->bytes;
  ASAN_UNPOISON_MEMORY_REGION(slab->slots(), slab->bytes - Slab::kHeaderBytes);
  slab->~Slab();
  ::operator delete(slab);
}

void* SlabAllocator::Allocate(size_t size) {
  assert(size > 0);
  ++blocks_;
  if (size > kMaxSlotBytes) {
    void* block = ::operator new(size);
    large_.insert(block);
    large_bytes_ += size;
    return block;
  }
  const size_t cls = ClassOf(size);
  Class& c = classes_[cls];
  Slab* slab = c.with_room != nullptr ? c.with_room : NewSlab(cls);
  void* block;
  if (slab->free != nullptr) {
    block = slab->free;
    ASAN_UNPOISON_MEMORY_REGION(block, slab->slot_bytes);
    std::memcpy(&slab->free, block, sizeof(void*));  // blocks are aligned to 4 only
  } else {
    block = slab->slots() + size_t{slab->carved} * slab->slot_bytes;
    ++slab->carved;
    ASAN_UNPOISON_MEMORY_REGION(block, slab->slot_bytes);
  }
  if (++slab->used == slab->capacity) Unlink(c, slab);
  return block;
}

void SlabAllocator::Free(void* block, size_t size) {
  if (block == nullptr) return;
  --blocks_;
  if (size > kMaxSlotBytes) {
    large_.erase(block);
    large_bytes_ -= size;
    ::operator delete(block);
    return;
  }
  // The slab with the greatest address not above the block's.
  auto it = slabs_.upper_bound(static_cast<const void*>(block));
  assert(it != slabs_.begin());
  Slab* slab = *--it;
  assert(slab->slot_bytes == ClassOf(size) * kAlignment);
  Class& c = classes_[slab->slot_bytes / kAlignment];
  std::memcpy(block, &slab->free, sizeof(void*));
  slab->free = block;
  ASAN_POISON_MEMORY_REGION(block, slab->slot_bytes);
  if (--slab->used == 0) {
    ReleaseSlab(slab);
  } else {
    PushRoom(c, slab);
  }
}

void SlabAllocator::Clear() {
  while (!slabs_.empty()) ReleaseSlab(*slabs_.begin());
  for (void* block : large_) ::operator delete(block);
  large_.clear();
  large_bytes_ = 0;
  blocks_ = 0;
}

}  // namespace kv::replica

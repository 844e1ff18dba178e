#pragma once
// Blocks for the full copy's records (memory_store.h), carved from slabs of up to 64 KiB by size
// class (multiples of 4 bytes, 8 at least, up to kMaxSlotBytes), so a record costs its bytes
// rounded up to 4 rather than malloc's header and 16-byte rounding (a 130-byte record: 132 bytes
// here, 144 from malloc). Blocks are aligned to 4 only: what is wider in them is read with
// memcpy. Larger blocks come from operator new.
//
// Slab size: an eighth of what the class already holds, between 1 KiB and 64 KiB, so the unused
// tail of a class's newest slab is at most about an eighth of the class (and 64 KiB) however
// many classes a store's record sizes spread over.
//
// Reuse: a freed block goes on its slab's free list and is handed out again before any new slab
// is taken (a class takes a slab only when all of its slabs are full), so overwrites and deletes
// reuse memory; a slab whose blocks are all free goes back to the heap at once. A class thus
// holds at most the slabs its peak number of live blocks filled, and nothing once they are all
// freed. Blocks are not moved to fill holes: after a shrink, live blocks scattered across slabs
// keep those slabs.
//
// Slabs are below glibc's mmap threshold on purpose: they come from the heap's arena, where a
// freed slab is reused by the next, rather than each being a mapping of its own.
//
// Threading: not thread-safe; the owner serialises every call (MemoryStore: under its applier
// mutex). Another thread may read a block's bytes as long as the owner frees it only after that
// reader is done (MemoryStore: a record is unlinked under its shard's lock before it is freed).
// Ownership: the allocator owns every slab and block; Clear and the destructor free them all,
// whatever is still handed out.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_set.h"

namespace kv::replica {

class SlabAllocator {
 public:
  static constexpr size_t kAlignment = 4;
  // Larger blocks come from operator new: malloc's 16 bytes are under 2% of them.
  static constexpr size_t kMaxSlotBytes = 1024;
  static constexpr size_t kMinSlabBytes = 1 << 10;  // or two slots, if more
  static constexpr size_t kMaxSlabBytes = 64 << 10;

  SlabAllocator();
  ~SlabAllocator();
  SlabAllocator(const SlabAllocator&) = delete;
  SlabAllocator& operator=(const SlabAllocator&) = delete;

  // A block of `size` bytes (> 0), aligned to kAlignment.
  void* Allocate(size_t size);
  // `size`: what Allocate was given for `block`.
  void Free(void* block, size_t size);
  // Frees every slab and block at once.
  void Clear();

  // --- Figures (for tests and benchmarks) ---------------------------------------------------
  // Blocks handed out and not freed.
  size_t blocks() const { return blocks_; }
  // Bytes taken from the heap: slabs and large blocks.
  size_t heap_bytes() const { return slab_bytes_ + large_bytes_; }
  size_t slabs() const { return slabs_.size(); }

 private:
  struct Slab;
  struct SlabLess {
    using is_transparent = void;
    bool operator()(const Slab* a, const Slab* b) const { return a < b; }
    bool operator()(const Slab* a, const void* b) const { return a < b; }
    bool operator()(const void* a, const Slab* b) const { return a < b; }
  };
  // One size class: its slabs that have a free slot, most recently given one first.
  struct Class {
    Slab* with_room = nullptr;
    size_t bytes = 0;  // of its slabs
  };

  // A free slot holds a pointer: 8 bytes at least.
  static size_t ClassOf(size_t size) {
    return (std::max<size_t>(size, sizeof(void*)) + kAlignment - 1) / kAlignment;
  }
  Slab* NewSlab(size_t cls);
  void ReleaseSlab(Slab* slab);
  void Unlink(Class& c, Slab* slab);
  void PushRoom(Class& c, Slab* slab);

  std::vector<Class> classes_;  // by ClassOf(size); [0] unused
  // Every slab by address, to find a freed block's slab.
  absl::btree_set<Slab*, SlabLess> slabs_;
  absl::flat_hash_set<void*> large_;
  size_t blocks_ = 0;
  size_t slab_bytes_ = 0;
  size_t large_bytes_ = 0;
};

}  // namespace kv::replica

// SlabAllocator: blocks are aligned and disjoint, freed blocks are reused before a slab is taken,
// empty slabs go back, large blocks pass through, and churn at a steady size does not grow it.

#include "client/local_replica/slab_allocator.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <utility>
#include <vector>

namespace kv::replica {
namespace {

struct Block {
  char* p;
  size_t size;
  char fill;
};

void Fill(const Block& b) { std::memset(b.p, b.fill, b.size); }

bool Intact(const Block& b) {
  for (size_t i = 0; i < b.size; ++i) {
    if (b.p[i] != b.fill) return false;
  }
  return true;
}

TEST(SlabAllocatorTest, BlocksAreAlignedAndDisjoint) {
  SlabAllocator a;
  std::vector<Block> blocks;
  for (size_t i = 0; i < 5000; ++i) {
    const size_t size = 1 + i % 1500;  // small and large
    Block b{static_cast<char*>(a.Allocate(size)), size, static_cast<char>(i)};
    ASSERT_EQ(reinterpret_cast<uintptr_t>(b.p) % SlabAllocator::kAlignment, 0u) << size;
    Fill(b);
    blocks.push_back(b);
  }
  EXPECT_EQ(a.blocks(), blocks.size());
  for (const Block& b : blocks) ASSERT_TRUE(Intact(b)) << "size " << b.size;
  for (const Block& b : blocks) a.Free(b.p, b.size);
  EXPECT_EQ(a.blocks(), 0u);
  EXPECT_EQ(a.slabs(), 0u) << "every emptied slab goes back";
  EXPECT_EQ(a.heap_bytes(), 0u);
}

TEST(SlabAllocatorTest, FreedBlocksAreReusedBeforeANewSlab) {
  SlabAllocator a;
  std::vector<void*> blocks;
  for (int i = 0; i < 10000; ++i) blocks.push_back(a.Allocate(130));
  const size_t slabs = a.slabs(), bytes = a.heap_bytes();
  // Records of 130 bytes take 132: no malloc header, no 16-byte rounding; then a header and an
  // odd end a slab, and the unused end of the newest slab.
  EXPECT_LE(bytes, 10000 * 132 + slabs * 200 + SlabAllocator::kMaxSlabBytes);
  for (size_t i = 0; i < blocks.size(); i += 2) a.Free(blocks[i], 130);
  for (size_t i = 0; i < blocks.size(); i += 2) blocks[i] = a.Allocate(129);  // same class
  EXPECT_EQ(a.slabs(), slabs);
  EXPECT_EQ(a.heap_bytes(), bytes);
}

TEST(SlabAllocatorTest, SlabsOfAClassGrowWithItAndAFewKeysTakeLittle) {
  SlabAllocator a;
  void* one = a.Allocate(100);
  EXPECT_EQ(a.heap_bytes(), SlabAllocator::kMinSlabBytes);
  a.Free(one, 100);
  EXPECT_EQ(a.heap_bytes(), 0u);
  std::vector<void*> blocks;
  for (int i = 0; i < 100000; ++i) blocks.push_back(a.Allocate(104));
  EXPECT_LT(a.slabs(), 250u) << "slabs grow to 64 KiB";
  EXPECT_LT(a.heap_bytes(), 100000 * 104 * 102 / 100);
  for (void* b : blocks) a.Free(b, 104);
}

TEST(SlabAllocatorTest, LargeBlocksPassThroughAndClearFreesEverything) {
  SlabAllocator a;
  void* big = a.Allocate(SlabAllocator::kMaxSlotBytes + 1);
  std::memset(big, 1, SlabAllocator::kMaxSlotBytes + 1);
  EXPECT_EQ(a.slabs(), 0u);
  EXPECT_EQ(a.heap_bytes(), SlabAllocator::kMaxSlotBytes + 1);
  a.Free(big, SlabAllocator::kMaxSlotBytes + 1);
  EXPECT_EQ(a.heap_bytes(), 0u);
  for (int i = 0; i < 1000; ++i) a.Allocate(i % 3 == 0 ? 5000 : 1 + i);
  EXPECT_GT(a.heap_bytes(), 0u);
  a.Clear();  // a leak checker (KV_SANITIZE) would see what Clear missed
  EXPECT_EQ(a.heap_bytes(), 0u);
  EXPECT_EQ(a.blocks(), 0u);
  EXPECT_EQ(a.slabs(), 0u);
  void* again = a.Allocate(64);
  a.Free(again, 64);
}

// A steady number of live blocks of a steady mix of sizes, freed and allocated at random for
// many rounds: the heap settles instead of growing with the number of operations.
TEST(SlabAllocatorTest, ChurnAtASteadyMixDoesNotGrowTheHeap) {
  SlabAllocator a;
  std::mt19937_64 rng(7);
  constexpr size_t kLive = 20000;
  auto size_of = [&] { return 20 + rng() % 300; };
  std::vector<Block> live;
  for (size_t i = 0; i < kLive; ++i) {
    const size_t size = size_of();
    live.push_back({static_cast<char*>(a.Allocate(size)), size, static_cast<char>(i)});
    Fill(live.back());
  }
  size_t settled = 0;
  for (int round = 0; round < 40; ++round) {
    for (size_t n = 0; n < kLive; ++n) {
      Block& b = live[rng() % kLive];
      ASSERT_TRUE(Intact(b));
      a.Free(b.p, b.size);
      b.size = size_of();
      b.p = static_cast<char*>(a.Allocate(b.size));
      ++b.fill;
      Fill(b);
    }
    if (round == 4) settled = a.heap_bytes();
  }
  EXPECT_EQ(a.blocks(), kLive);
  EXPECT_LE(a.heap_bytes(), settled * 11 / 10)
      << "after 5 rounds " << settled << " bytes, after 40 " << a.heap_bytes();
  for (const Block& b : live) {
    ASSERT_TRUE(Intact(b));
    a.Free(b.p, b.size);
  }
  EXPECT_EQ(a.heap_bytes(), 0u);
}

}  // namespace
}  // namespace kv::replica

// Checks that the cache's byte accounting matches what the allocator really holds.

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/cache/hot_key_cache.h"

namespace kv::server::cache {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Bytes in live heap chunks: arena chunks plus mmapped ones (large blocks).
int64_t HeapInUse() {
  const struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
}

TEST(CacheMemory, SharedValueBlockMatchesHeap) {
  if (kSanitized) GTEST_SKIP() << "the sanitizer allocator has its own layout";
  SharedValueBlockBytes();
  const int kValues = 20000;
  std::vector<std::shared_ptr<const CachedValue>> values;
  values.reserve(kValues);
  const int64_t before = HeapInUse();
  for (int i = 0; i < kValues; ++i) values.push_back(MakeCachedValue(CachedValue{}));
  // Chunks reused from the thread cache were already counted as in use: allow a few.
  const double per_value = static_cast<double>(HeapInUse() - before) / kValues;
  EXPECT_NEAR(per_value, static_cast<double>(SharedValueBlockBytes()), 1.0);
}

TEST(CacheMemory, ChargedBytesMatchHeapGrowth) {
  if (kSanitized) GTEST_SKIP() << "the sanitizer allocator has its own layout";
  // Measure-once statics and thread-locals first, so they do not count as cache growth.
  HotKeyCache::EntryCharge("warm-up", CachedValue{});
  malloc_trim(0);

  const int64_t before = HeapInUse();
  HotKeyCache::Stats stats;
  int64_t grown = 0;
  uint64_t max_used = 0;
  {
    HotKeyCache::Options o;
    o.capacity_bytes = 8 << 20;
    o.shards = 4;
    auto cache = std::make_unique<HotKeyCache>(o);
    std::mt19937_64 rng(42);
    for (int i = 0; i < 60000; ++i) {
      // Keys of 5..60 bytes (both inline and heap strings); values of 0..4000 bytes, some
      // with metadata; one in ten negative.
      std::string key = absl::StrCat("k", i, "/", std::string(rng() % 50, 'k'));
      CachedValue v;
      v.found = rng() % 10 != 0;
      if (v.found) {
        v.value = std::string(rng() % 4000, 'v');
        if (rng() % 4 == 0) v.metadata = std::string(rng() % 64, 'm');
      }
      v.version = i + 1;
      cache->Lookup(key);
      cache->Admit(key, MakeCachedValue(std::move(v)));
      if (i % 500 == 0) {
        const HotKeyCache::Stats st = cache->GetStats();
        ASSERT_LE(st.bytes_used, st.bytes_limit) << "after " << i;
        max_used = std::max<uint64_t>(max_used, st.bytes_used);
      }
    }
    stats = cache->GetStats();
    grown = HeapInUse() - before;
  }
  const int64_t leaked = HeapInUse() - before;

  ASSERT_GT(stats.evictions + stats.rejections, 10000u) << "the test must run at the limit";
  EXPECT_LE(stats.bytes_used, stats.bytes_limit);
  EXPECT_GT(stats.bytes_used, stats.bytes_limit * 9 / 10);
  const double ratio = static_cast<double>(grown) / static_cast<double>(stats.bytes_used);
  std::printf("heap growth %lld bytes, charged %llu bytes (ratio %.4f), %llu entries\n",
              static_cast<long long>(grown), static_cast<unsigned long long>(stats.bytes_used),
              ratio, static_cast<unsigned long long>(stats.entries));
  EXPECT_NEAR(ratio, 1.0, 0.10);
  // Everything the cache held is returned when it goes away, except what glibc's per-thread
  // cache keeps (counted as in use): at most 7 chunks of each size up to 1 KiB, ~240 KiB.
  EXPECT_LT(std::abs(leaked), 320 << 10);
}

}  // namespace
}  // namespace kv::server::cache

#include "server/cache/cache_sizing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "server/cache/hot_key_cache.h"

namespace kv::server::cache {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kGiB = 1ull << 30;

TEST(CacheSizing, RefusesBudgetsTooSmallToHoldAnything) {
  for (uint64_t bytes : {uint64_t{0}, uint64_t{1}, uint64_t{1024}, kMinCacheBytes - 1}) {
    absl::Status s = ValidateCacheBytes("--cache-bytes", bytes, 24 * kGiB);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << bytes;
    EXPECT_THAT(s.message(), HasSubstr("is below the minimum of 1 MiB")) << s;
    EXPECT_THAT(s.message(), HasSubstr("silently off")) << s;
  }
  EXPECT_THAT(ValidateCacheBytes("--cache-bytes", 1024, 24 * kGiB).message(),
              HasSubstr("--cache-bytes 1 KiB is below"));
  EXPECT_TRUE(ValidateCacheBytes("--cache-bytes", kMinCacheBytes, 24 * kGiB).ok());
}

TEST(CacheSizing, RefusesBudgetsAboveTheMachinesMemory) {
  absl::Status s = ValidateCacheBytes("--cache-bytes", 2048 * kGiB, 24 * kGiB);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(s.message(), HasSubstr("--cache-bytes 2 TiB is more than this machine's memory "
                                     "(24 GiB)"));
  EXPECT_TRUE(ValidateCacheBytes("--cache-bytes", 24 * kGiB, 24 * kGiB).ok());
  // Unknown memory: no upper bound.
  EXPECT_TRUE(ValidateCacheBytes("--cache-bytes", 2048 * kGiB, 0).ok());
}

TEST(CacheSizing, PhysicalMemoryIsKnownHere) { EXPECT_GT(PhysicalMemoryBytes(), 64ull << 20); }

TEST(CacheSizing, AHugeBudgetAllocatesWithUseNotUpFront) {
  HotKeyCache::Options o;
  o.capacity_bytes = 2048 * kGiB;
  HotKeyCache cache(o);
  // Sixteen sketches of at most 65,536 / 16 entries: 512 KiB in all, not 32 GiB.
  const uint64_t empty = cache.GetStats().bytes_used;
  EXPECT_LE(empty, 600u << 10);
  // As entries arrive the sketches grow with them (16 words per entry at most, rounded).
  for (int i = 0; i < 200000; ++i) {
    CachedValue v;
    v.found = true;
    v.value = "value";
    v.version = 1;
    cache.Admit(absl::StrCat("key-", i), MakeCachedValue(std::move(v)));
  }
  HotKeyCache::Stats st = cache.GetStats();
  EXPECT_EQ(st.entries, 200000u);
  EXPECT_LT(st.bytes_used, 200000u * 400);
}

}  // namespace
}  // namespace kv::server::cache

#include "auth/token_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace kv::auth {
namespace {

std::shared_ptr<const Principal> P(const std::string& sub) {
  auto p = std::make_shared<Principal>();
  p->subject = sub;
  return p;
}

TEST(TokenCache, HitUntilExpiry) {
  TokenCache cache;
  auto d = TokenCache::DigestOf("token-a");
  EXPECT_EQ(cache.Lookup(d, 1, 100), nullptr);
  cache.Insert(d, 1, 200, P("a"));
  ASSERT_NE(cache.Lookup(d, 1, 100), nullptr);
  EXPECT_EQ(cache.Lookup(d, 1, 199)->subject, "a");
  EXPECT_EQ(cache.Lookup(d, 1, 200), nullptr);  // expiry is exclusive
  EXPECT_EQ(cache.Lookup(d, 1, 100), nullptr);  // and the entry is gone
  TokenCacheStats s = cache.stats();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 3u);
  EXPECT_EQ(s.expirations, 1u);
  EXPECT_EQ(s.size, 0u);
}

TEST(TokenCache, OtherGenerationIsAMiss) {
  TokenCache cache;
  auto d = TokenCache::DigestOf("token-a");
  cache.Insert(d, 1, 1000, P("a"));
  EXPECT_EQ(cache.Lookup(d, 2, 10), nullptr);
  EXPECT_EQ(cache.Lookup(d, 1, 10), nullptr);  // dropped on the mismatch
}

TEST(TokenCache, DistinguishesTokens) {
  TokenCache cache;
  cache.Insert(TokenCache::DigestOf("a"), 1, 1000, P("a"));
  EXPECT_EQ(cache.Lookup(TokenCache::DigestOf("b"), 1, 10), nullptr);
  EXPECT_EQ(cache.Lookup(TokenCache::DigestOf("a "), 1, 10), nullptr);
  EXPECT_EQ(cache.Lookup(TokenCache::DigestOf("a"), 1, 10)->subject, "a");
}

TEST(TokenCache, EvictsLeastRecentlyUsed) {
  TokenCacheOptions options;
  options.capacity = 3;
  options.shards = 1;
  TokenCache cache(options);
  for (const char* t : {"t1", "t2", "t3"}) cache.Insert(TokenCache::DigestOf(t), 1, 1000, P(t));
  ASSERT_NE(cache.Lookup(TokenCache::DigestOf("t1"), 1, 10), nullptr);  // t2 is now the oldest
  cache.Insert(TokenCache::DigestOf("t4"), 1, 1000, P("t4"));
  EXPECT_EQ(cache.Lookup(TokenCache::DigestOf("t2"), 1, 10), nullptr);
  EXPECT_NE(cache.Lookup(TokenCache::DigestOf("t1"), 1, 10), nullptr);
  EXPECT_NE(cache.Lookup(TokenCache::DigestOf("t3"), 1, 10), nullptr);
  EXPECT_NE(cache.Lookup(TokenCache::DigestOf("t4"), 1, 10), nullptr);
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_EQ(cache.stats().size, 3u);
}

TEST(TokenCache, BoundedAcrossShards) {
  TokenCacheOptions options;
  options.capacity = 64;
  options.shards = 4;
  TokenCache cache(options);
  for (int i = 0; i < 1000; ++i) {
    cache.Insert(TokenCache::DigestOf("t" + std::to_string(i)), 1, 1000, P("x"));
  }
  EXPECT_LE(cache.stats().size, 64u);
  EXPECT_GE(cache.stats().size, 48u);
}

TEST(TokenCache, ClearAndDisabled) {
  TokenCache cache;
  cache.Insert(TokenCache::DigestOf("a"), 1, 1000, P("a"));
  cache.Clear();
  EXPECT_EQ(cache.Lookup(TokenCache::DigestOf("a"), 1, 10), nullptr);

  TokenCacheOptions off;
  off.capacity = 0;
  TokenCache none(off);
  none.Insert(TokenCache::DigestOf("a"), 1, 1000, P("a"));
  EXPECT_EQ(none.Lookup(TokenCache::DigestOf("a"), 1, 10), nullptr);
}

TEST(TokenCache, ReinsertReplaces) {
  TokenCache cache;
  auto d = TokenCache::DigestOf("a");
  cache.Insert(d, 1, 1000, P("old"));
  cache.Insert(d, 2, 2000, P("new"));
  EXPECT_EQ(cache.Lookup(d, 2, 1500)->subject, "new");
  EXPECT_EQ(cache.stats().size, 1u);
}

}  // namespace
}  // namespace kv::auth

#include "server/cache/hot_key_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace kv::server::cache {
namespace {

std::shared_ptr<const CachedValue> Found(uint64_t version, std::string value = "v") {
  CachedValue v;
  v.found = true;
  v.value = std::move(value);
  v.version = version;
  return MakeCachedValue(std::move(v));
}

std::shared_ptr<const CachedValue> NotFound(uint64_t as_of) {
  CachedValue v;
  v.found = false;
  v.version = as_of;
  return MakeCachedValue(std::move(v));
}

HotKeyCache::Options SmallOptions(size_t bytes, int shards = 1) {
  HotKeyCache::Options o;
  o.capacity_bytes = bytes;
  o.shards = shards;
  return o;
}

TEST(HotKeyCache, AdmitNeverInstallsAnOlderVersion) {
  HotKeyCache cache(SmallOptions(1 << 20, 4));
  EXPECT_EQ(cache.Lookup("a"), nullptr);
  EXPECT_TRUE(cache.Admit("a", Found(5, "five")));
  EXPECT_TRUE(cache.Admit("a", Found(3, "three")));  // still cached, but at version 5
  EXPECT_EQ(cache.Lookup("a")->value, "five");
  EXPECT_TRUE(cache.Admit("a", Found(5, "five-again")));
  EXPECT_EQ(cache.Lookup("a")->value, "five");
  EXPECT_TRUE(cache.Admit("a", Found(7, "seven")));
  auto v = cache.Lookup("a");
  EXPECT_EQ(v->value, "seven");
  EXPECT_EQ(v->version, 7u);
}

TEST(HotKeyCache, AdmitIfAdmitsOnlyWhatItsConditionAllows) {
  HotKeyCache cache(SmallOptions(1 << 20, 4));
  int calls = 0;
  EXPECT_FALSE(cache.AdmitIf("a", Found(1), [&] {
    ++calls;
    return false;
  }));
  EXPECT_EQ(cache.Peek("a"), nullptr);
  EXPECT_TRUE(cache.AdmitIf("a", Found(2, "two"), [&] {
    ++calls;
    return true;
  }));
  EXPECT_EQ(cache.Peek("a")->value, "two");
  EXPECT_EQ(calls, 2);
}

TEST(HotKeyCache, UpdateIfPresentAppliesOnlyNewerToPresentKeys) {
  HotKeyCache cache(SmallOptions(1 << 20, 4));
  EXPECT_FALSE(cache.UpdateIfPresent("absent", Found(9)));
  EXPECT_EQ(cache.Lookup("absent"), nullptr) << "stream changes do not insert";

  ASSERT_TRUE(cache.Admit("k", Found(10, "ten")));
  auto reader_copy = cache.Lookup("k");
  EXPECT_FALSE(cache.UpdateIfPresent("k", Found(9, "nine")));
  EXPECT_FALSE(cache.UpdateIfPresent("k", Found(10, "ten-dup")));
  EXPECT_EQ(cache.Lookup("k")->value, "ten");
  EXPECT_TRUE(cache.UpdateIfPresent("k", Found(11, "eleven")));
  EXPECT_EQ(cache.Lookup("k")->value, "eleven");
  // A fetch that started before the change and returns late loses.
  EXPECT_TRUE(cache.Admit("k", Found(10, "late fetch")));
  EXPECT_EQ(cache.Lookup("k")->value, "eleven");
  // Readers keep what they were given.
  EXPECT_EQ(reader_copy->value, "ten");
}

TEST(HotKeyCache, NegativeEntries) {
  HotKeyCache cache(SmallOptions(1 << 20, 2));
  ASSERT_TRUE(cache.Admit("gone", NotFound(20)));
  auto v = cache.Lookup("gone");
  ASSERT_NE(v, nullptr);
  EXPECT_FALSE(v->found);
  EXPECT_EQ(v->version, 20u);
  EXPECT_EQ(cache.GetStats().negative_entries, 1u);
  // An older write cannot resurrect it; a newer one can.
  EXPECT_FALSE(cache.UpdateIfPresent("gone", Found(19)));
  EXPECT_TRUE(cache.UpdateIfPresent("gone", Found(21, "back")));
  EXPECT_TRUE(cache.Lookup("gone")->found);
  EXPECT_EQ(cache.GetStats().negative_entries, 0u);
  // A delete arriving on the stream turns it negative again.
  EXPECT_TRUE(cache.UpdateIfPresent("gone", NotFound(22)));
  EXPECT_EQ(cache.GetStats().negative_entries, 1u);
  EXPECT_TRUE(cache.Erase("gone"));
  EXPECT_FALSE(cache.Erase("gone"));
  EXPECT_EQ(cache.GetStats().negative_entries, 0u);
  EXPECT_EQ(cache.GetStats().entries, 0u);
}

TEST(HotKeyCache, StatsCountLookupsAndBytes) {
  // One shard of 64 KiB: the window (1%) holds one of these entries.
  HotKeyCache cache(SmallOptions(64 << 10, 1));
  for (int i = 0; i < 10; ++i) {
    const std::string key = absl::StrCat("key", i);
    EXPECT_EQ(cache.Lookup(key), nullptr);
    cache.Admit(key, Found(1, std::string(200, 'x')));
  }
  for (int i = 0; i < 10; ++i) EXPECT_NE(cache.Lookup(absl::StrCat("key", i)), nullptr);
  HotKeyCache::Stats st = cache.GetStats();
  EXPECT_EQ(st.hits, 10u);
  EXPECT_EQ(st.misses, 10u);
  EXPECT_EQ(st.entries, 10u);
  EXPECT_EQ(st.bytes_limit, 64u << 10);
  EXPECT_GE(st.bytes_used, 10 * HotKeyCache::EntryCharge("key0", *Found(1, std::string(200, 'x'))));
  EXPECT_LE(st.bytes_used, st.bytes_limit);
  // Nine entries left the window for probation; hit there, they moved on to protected.
  EXPECT_EQ(st.evictions + st.rejections, 0u);
  EXPECT_EQ(st.window_admissions, 9u);
  EXPECT_EQ(st.protected_promotions, 9u);

  size_t visited = 0;
  cache.ForEach([&](absl::string_view key, const std::shared_ptr<const CachedValue>& v) {
    ++visited;
    EXPECT_EQ(v->value.size(), 200u) << key;
  });
  EXPECT_EQ(visited, 10u);
  cache.Clear();
  EXPECT_EQ(cache.GetStats().entries, 0u);
  EXPECT_EQ(cache.GetStats().hits, 10u) << "counters are cumulative";
}

TEST(HotKeyCache, EntryLargerThanShardBudgetIsNotAdmitted) {
  HotKeyCache cache(SmallOptions(64 << 10, 4));  // 16 KiB per shard
  ASSERT_TRUE(cache.Admit("small", Found(1, "x")));
  EXPECT_FALSE(cache.Admit("huge", Found(1, std::string(20 << 10, 'h'))));
  EXPECT_EQ(cache.Lookup("huge"), nullptr);
  EXPECT_NE(cache.Lookup("small"), nullptr);
  HotKeyCache::Stats st = cache.GetStats();
  EXPECT_EQ(st.too_large, 1u);
  EXPECT_EQ(st.evictions, 0u);
}

TEST(HotKeyCache, EvictionCallbackRunsOutsideTheLockForEveryRemovedKey) {
  std::vector<std::string> evicted;
  HotKeyCache* self = nullptr;
  HotKeyCache::Options o = SmallOptions(64 << 10, 2);
  o.on_evict = [&](absl::string_view key) {
    evicted.emplace_back(key);
    // Re-entering the cache would deadlock if this ran under the shard lock.
    EXPECT_LE(self->GetStats().bytes_used, self->GetStats().bytes_limit);
  };
  HotKeyCache cache(o);
  self = &cache;
  const int kKeys = 2000;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = absl::StrCat("key-", i);
    cache.Lookup(key);
    cache.Admit(key, Found(1, std::string(100, 'v')));
  }
  std::set<std::string> cached;
  cache.ForEach([&](absl::string_view key, const std::shared_ptr<const CachedValue>&) {
    cached.emplace(key);
  });
  const HotKeyCache::Stats st = cache.GetStats();
  EXPECT_EQ(evicted.size(), st.evictions + st.rejections);
  EXPECT_EQ(cached.size(), st.entries);
  EXPECT_EQ(evicted.size() + cached.size(), static_cast<size_t>(kKeys));
  for (const std::string& k : evicted) EXPECT_EQ(cached.count(k), 0u) << k;
  // Erase and Clear are the caller's own doing: no callback.
  const size_t before = evicted.size();
  cache.Erase(*cached.begin());
  cache.Clear();
  EXPECT_EQ(evicted.size(), before);
}

// A batch read answers every key at once, or nothing: a miss or a refusal by `accept` records
// no access and no hit or miss, so the caller's ordinary read that follows counts once.
TEST(HotKeyCache, LookupAllIfAnswersWholeBatchesOnlyAndRecordsWhatItAnswers) {
  HotKeyCache cache(SmallOptions(4 << 20, 16));
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) {
    names.push_back(absl::StrCat("key", i));
    ASSERT_TRUE(cache.Admit(names.back(), Found(i + 1, names.back())));
  }
  // 12 keys over many shards, one of them twice, in an order unlike the shards'.
  std::vector<absl::string_view> keys;
  for (int i : {31, 2, 17, 9, 2, 38, 0, 25, 11, 6, 19, 33}) keys.push_back(names[i]);
  std::vector<std::shared_ptr<const CachedValue>> out;
  const HotKeyCache::Stats before = cache.GetStats();

  std::vector<absl::string_view> with_miss = keys;
  with_miss.insert(with_miss.begin() + 5, "absent");
  int accept_calls = 0;
  auto accept_all = [&](absl::Span<const std::shared_ptr<const CachedValue>> v) {
    ++accept_calls;
    return true;
  };
  EXPECT_FALSE(cache.LookupAllIf(with_miss, &out, accept_all));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(accept_calls, 0) << "a batch with a miss is refused before accept";

  size_t offered = 0;
  EXPECT_FALSE(cache.LookupAllIf(keys, &out, [&](auto v) {
    offered = v.size();
    for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i]->value, keys[i]);
    return false;
  }));
  EXPECT_EQ(offered, keys.size());
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(cache.GetStats().hits, before.hits);
  EXPECT_EQ(cache.GetStats().misses, before.misses);

  ASSERT_TRUE(cache.LookupAllIf(keys, &out, accept_all));
  ASSERT_EQ(out.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(out[i]->value, keys[i]) << i;
  EXPECT_EQ(cache.GetStats().hits, before.hits + keys.size());
  EXPECT_EQ(cache.GetStats().misses, before.misses);
  EXPECT_EQ(cache.Peek("absent"), nullptr);
}

// Prefetch is a hint: present, absent and repeated keys alike, it records nothing.
TEST(HotKeyCache, PrefetchRecordsNothing) {
  HotKeyCache cache(SmallOptions(1 << 20, 16));
  for (int i = 0; i < 20; ++i) cache.Admit(absl::StrCat("key", i), Found(1));
  const HotKeyCache::Stats before = cache.GetStats();
  const std::vector<absl::string_view> keys = {"key3", "absent", "key3", "key17", "key0"};
  cache.Prefetch(keys);
  cache.Prefetch({});
  const HotKeyCache::Stats after = cache.GetStats();
  EXPECT_EQ(after.hits, before.hits);
  EXPECT_EQ(after.misses, before.misses);
  EXPECT_EQ(after.entries, before.entries);
  EXPECT_EQ(after.window_admissions + after.protected_promotions,
            before.window_admissions + before.protected_promotions);
  EXPECT_EQ(cache.Peek("absent"), nullptr);
  // The locks it took are released: every shard can be locked again.
  std::vector<std::shared_ptr<const CachedValue>> out;
  std::vector<absl::string_view> all;
  std::vector<std::string> names;
  for (int i = 0; i < 20; ++i) names.push_back(absl::StrCat("key", i));
  for (const auto& n : names) all.push_back(n);
  EXPECT_TRUE(cache.LookupAllIf(all, &out, [](auto) { return true; }));
}

// Batches lock several shards at once, in shard order; readers of overlapping batches, single
// lookups and writers of the same keys all finish, and every batch answered is whole.
TEST(HotKeyCache, LookupAllIfAmongConcurrentBatchesAndChanges) {
  HotKeyCache cache(SmallOptions(1 << 20, 8));
  constexpr int kKeys = 200;
  std::vector<std::string> names;
  for (int i = 0; i < kKeys; ++i) names.push_back(absl::StrCat("k", i));
  for (const auto& n : names) cache.Admit(n, Found(1, n));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  std::atomic<int> answered{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      uint64_t x = 777 + t;
      std::vector<absl::string_view> keys;
      std::vector<std::shared_ptr<const CachedValue>> out;
      for (int i = 0; i < 20000 && absl::Now() < deadline; ++i) {
        keys.clear();
        for (int k = 0; k < 10; ++k) {
          x = x * 6364136223846793005ULL + 1442695040888963407ULL;
          keys.push_back(names[(x >> 33) % kKeys]);
        }
        cache.Prefetch(keys);  // the hint, among the same writers (it skips busy shards)
        if (cache.LookupAllIf(keys, &out, [](auto) { return true; })) {
          answered.fetch_add(1, std::memory_order_relaxed);
          for (size_t k = 0; k < keys.size(); ++k) {
            // Each value is its key, or its key, "-" and the version that wrote it.
            const std::string& value = out.size() == keys.size() ? out[k]->value : "";
            if (value != keys[k] && !absl::StartsWith(value, absl::StrCat(keys[k], "-"))) ++wrong;
          }
        }
      }
    });
  }
  threads.emplace_back([&] {
    uint64_t x = 99;
    for (uint64_t v = 2; v < 40000 && absl::Now() < deadline; ++v) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      const std::string& key = names[(x >> 33) % kKeys];
      if (v % 5 == 0) {
        cache.Erase(key);
      } else if (v % 5 == 1) {
        cache.Admit(key, Found(v, key));
      } else {
        cache.UpdateIfPresent(key, Found(v, absl::StrCat(key, "-", v)));
        cache.Lookup(key);
      }
    }
  });
  for (auto& th : threads) th.join();
  EXPECT_LT(absl::Now(), deadline) << "batches and writers should finish well within the bound";
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
}

TEST(HotKeyCache, ConcurrentSmoke) {
  HotKeyCache cache(SmallOptions(256 << 10, 4));
  std::atomic<uint64_t> lookups{0};
  std::atomic<bool> stop{false};
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      uint64_t x = 12345 + t;
      for (int i = 0; i < 30000 && absl::Now() < deadline; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const std::string key = absl::StrCat("k", (x >> 33) % 3000);
        const uint64_t version = (x >> 20) % 1000 + 1;
        switch ((x >> 60) % 8) {
          case 0:
            cache.UpdateIfPresent(key, Found(version, std::string(x % 300, 'u')));
            break;
          case 1:
            cache.Erase(key);
            break;
          default:
            lookups.fetch_add(1, std::memory_order_relaxed);
            if (auto v = cache.Lookup(key); v == nullptr) {
              cache.Admit(key,
                          (x & 1) ? Found(version, std::string(x % 500, 'a')) : NotFound(version));
            } else {
              EXPECT_GE(v->version, 1u);
            }
        }
      }
    });
  }
  std::thread observer([&] {
    while (!stop.load()) {
      const HotKeyCache::Stats st = cache.GetStats();
      EXPECT_LE(st.bytes_used, st.bytes_limit);
      size_t n = 0;
      cache.ForEach([&](absl::string_view, const std::shared_ptr<const CachedValue>&) { ++n; });
      absl::SleepFor(absl::Milliseconds(1));
    }
  });
  for (auto& th : threads) th.join();
  stop = true;
  observer.join();
  const HotKeyCache::Stats st = cache.GetStats();
  EXPECT_EQ(st.hits + st.misses, lookups.load());
  EXPECT_GT(st.hits, 0u);
  EXPECT_GT(st.evictions + st.rejections, 0u);
  EXPECT_LE(st.bytes_used, st.bytes_limit);
  EXPECT_LE(st.negative_entries, st.entries);
}

}  // namespace
}  // namespace kv::server::cache

#include "server/cache/w_tiny_lfu.h"

#include <gtest/gtest.h>

#include <string>

namespace kv::server::cache {
namespace {

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "k%06d", i);
  return buf;
}

std::shared_ptr<const CachedValue> Value(uint64_t version = 1) {
  CachedValue v;
  v.found = true;
  v.value = std::string(100, 'v');
  v.version = version;
  return MakeCachedValue(std::move(v));
}

// Every test entry has the same charge.
size_t Charge() { return WTinyLfu::ChargeOf(Key(0), *Value()); }

// The exact budget that holds `n` test entries with the given sketch size.
size_t BudgetFor(int n, size_t expected_entries) {
  WTinyLfu::Options o;
  o.capacity_bytes = size_t{1} << 30;
  o.expected_entries = expected_entries;
  WTinyLfu p(o);
  WTinyLfu::Garbage g;
  for (int i = 0; i < n; ++i) p.Admit(HashedKey(Key(i)), Value(), &g);
  return p.bytes_used();
}

class WTinyLfuTest : public ::testing::Test {
 protected:
  bool Offer(WTinyLfu& p, int i) {
    p.Lookup(HashedKey(Key(i)));
    return p.Admit(HashedKey(Key(i)), Value(), &garbage_);
  }
  bool Hit(WTinyLfu& p, int i) { return p.Lookup(HashedKey(Key(i))) != nullptr; }

  WTinyLfu::Garbage garbage_;
};

// LookupIfCached and a batch's stages (FindForBatch, then RecordHitOf) record a hit exactly as
// Lookup does, and a miss not at all; the prefetch stages record nothing.
TEST_F(WTinyLfuTest, LookupIfCachedRecordsHitsOnly) {
  WTinyLfu::Options o;
  o.capacity_bytes = size_t{1} << 20;
  WTinyLfu p(o);
  ASSERT_TRUE(p.Admit(HashedKey(Key(1)), Value(), &garbage_));
  ASSERT_TRUE(p.Admit(HashedKey(Key(2)), Value(), &garbage_));
  const int cold = p.Frequency(Key(3));
  EXPECT_EQ(p.LookupIfCached(HashedKey(Key(3))), nullptr);
  p.PrefetchSlot(HashedKey(Key(3)));
  p.PrefetchEntry(HashedKey(Key(3)));
  EXPECT_EQ(p.FindForBatch(HashedKey(Key(3))), nullptr);
  EXPECT_EQ(p.Frequency(Key(3)), cold);
  EXPECT_EQ(p.counters().misses, 0u);
  p.Lookup(HashedKey(Key(3)));  // the ordinary lookup after it counts the miss once
  EXPECT_EQ(p.Frequency(Key(3)), cold + 1);
  EXPECT_EQ(p.counters().misses, 1u);

  // Window, then probation (the window overflows into it) and a promotion, as for Lookup.
  const int warm = p.Frequency(Key(1));
  ASSERT_NE(p.LookupIfCached(HashedKey(Key(1))), nullptr);
  p.PrefetchSlot(HashedKey(Key(1)));
  p.PrefetchEntry(HashedKey(Key(1)));
  const CacheNode* found = p.FindForBatch(HashedKey(Key(1)));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(p.Frequency(Key(1)), warm + 1) << "finding records nothing";
  p.RecordHitOf(found, HashedKey(Key(1)));
  EXPECT_EQ(p.Frequency(Key(1)), warm + 2);
  EXPECT_EQ(p.counters().hits, 2u);
  EXPECT_NE(p.SegmentOf(Key(1)), Segment::kNone);
}

TEST_F(WTinyLfuTest, WindowProbationProtectedTransitions) {
  WTinyLfu::Options o;
  o.capacity_bytes = 1 << 20;
  // A window of 3 entries; a protected segment of 2.
  o.window_fraction = 3.5 * Charge() / o.capacity_bytes;
  o.protected_fraction = 2.5 * Charge() / (o.capacity_bytes - 3.5 * Charge());
  WTinyLfu p(o);

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Offer(p, i));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p.SegmentOf(Key(i)), Segment::kWindow) << i;
  EXPECT_EQ(p.window_bytes(), 3 * Charge());

  // A fourth pushes the window's LRU entry (0) into probation; there is room, so no contest.
  ASSERT_TRUE(Offer(p, 3));
  EXPECT_EQ(p.SegmentOf(Key(0)), Segment::kProbation);
  EXPECT_EQ(p.SegmentOf(Key(3)), Segment::kWindow);
  EXPECT_EQ(p.counters().window_admissions, 1u);

  // A window hit refreshes recency: 1 is now the window's MRU, so 2 leaves first.
  EXPECT_TRUE(Hit(p, 1));
  ASSERT_TRUE(Offer(p, 4));
  EXPECT_EQ(p.SegmentOf(Key(2)), Segment::kProbation);
  EXPECT_EQ(p.SegmentOf(Key(1)), Segment::kWindow);

  // A probation hit promotes to protected.
  EXPECT_TRUE(Hit(p, 0));
  EXPECT_EQ(p.SegmentOf(Key(0)), Segment::kProtected);
  EXPECT_TRUE(Hit(p, 2));
  EXPECT_EQ(p.SegmentOf(Key(2)), Segment::kProtected);
  EXPECT_EQ(p.counters().protected_promotions, 2u);

  // A third promotion overflows protected: its LRU entry (0) is demoted to probation.
  ASSERT_TRUE(Offer(p, 5));  // pushes 3 to probation
  EXPECT_TRUE(Hit(p, 3));
  EXPECT_EQ(p.SegmentOf(Key(3)), Segment::kProtected);
  EXPECT_EQ(p.SegmentOf(Key(2)), Segment::kProtected);
  EXPECT_EQ(p.SegmentOf(Key(0)), Segment::kProbation);
  EXPECT_EQ(p.protected_bytes(), 2 * Charge());
  // Protected hits keep an entry there.
  EXPECT_TRUE(Hit(p, 2));
  EXPECT_EQ(p.SegmentOf(Key(2)), Segment::kProtected);
  EXPECT_EQ(p.counters().evictions + p.counters().rejections, 0u);
}

TEST_F(WTinyLfuTest, CandidateMustBeatVictimFrequency) {
  const int n = 10;
  WTinyLfu::Options o;
  o.capacity_bytes = BudgetFor(n, 64);
  o.expected_entries = 64;
  o.window_fraction = 0;  // every new entry is immediately a candidate
  o.random_admission = false;
  WTinyLfu p(o);
  for (int i = 0; i < n; ++i) ASSERT_TRUE(Offer(p, i));
  ASSERT_EQ(p.entries(), static_cast<size_t>(n));
  ASSERT_EQ(p.counters().evictions, 0u);
  ASSERT_LE(p.bytes_used(), p.capacity_bytes());
  // Each resident has frequency 1 (its miss). A new key with frequency 1 ties and loses.
  EXPECT_FALSE(Offer(p, 100));
  EXPECT_EQ(p.SegmentOf(Key(100)), Segment::kNone);
  EXPECT_EQ(p.counters().rejections, 1u);
  EXPECT_EQ(p.entries(), static_cast<size_t>(n));

  // A key asked for three times beats the probation tail (the oldest, key 0).
  p.RecordAccess(HashedKey(Key(200)));
  p.RecordAccess(HashedKey(Key(200)));
  EXPECT_TRUE(Offer(p, 200));
  EXPECT_EQ(p.SegmentOf(Key(200)), Segment::kProbation);
  EXPECT_EQ(p.SegmentOf(Key(0)), Segment::kNone);
  EXPECT_EQ(p.counters().evictions, 1u);
  ASSERT_EQ(garbage_.evicted.size(), 2u);
  EXPECT_EQ(garbage_.evicted[0]->key(), Key(100));
  EXPECT_EQ(garbage_.evicted[1]->key(), Key(0));
  EXPECT_LE(p.bytes_used(), p.capacity_bytes());
}

TEST_F(WTinyLfuTest, FrequentKeySurvivesScan) {
  // 90 entries: their table (127 slots) stays below the load at which deleted slots make absl
  // double it; that one-time growth would be paid by recency-only eviction (see Maintain).
  WTinyLfu::Options o;
  o.capacity_bytes = BudgetFor(90, 100);
  o.expected_entries = 100;
  WTinyLfu p(o);
  const int kHot = 999999;
  for (int k = 0; k < 5; ++k) {
    if (!Hit(p, kHot)) Offer(p, kHot);
  }
  // 20,000 one-hit wonders, 200 between accesses to the hot key: an LRU of 90 entries would
  // have lost it every time.
  int hot_hits = 0;
  for (int i = 0; i < 20000; ++i) {
    Offer(p, i);
    if (i % 200 == 199) hot_hits += Hit(p, kHot);
    ASSERT_LE(p.bytes_used(), p.capacity_bytes());
  }
  EXPECT_EQ(hot_hits, 100);
  EXPECT_EQ(p.SegmentOf(Key(kHot)), Segment::kProtected);
  // Most of the scan never got in. After each halving of the sketch (every ~500 accesses here)
  // the old scan entries in probation drop to frequency 0 and are replaced by newer ones: ~1 in 5.
  EXPECT_GT(p.counters().rejections, 15000u);
}

TEST_F(WTinyLfuTest, GrowthOfAValueEvictsToStayInBudget) {
  WTinyLfu::Options o;
  o.capacity_bytes = BudgetFor(20, 64);
  o.expected_entries = 64;
  WTinyLfu p(o);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Offer(p, i));
  CachedValue big;
  big.found = true;
  big.value = std::string(20 * Charge(), 'b');
  big.version = 2;
  // Larger than the whole budget: refused, nothing evicted.
  EXPECT_FALSE(p.Admit(HashedKey(Key(500)), MakeCachedValue(big), &garbage_));
  EXPECT_EQ(p.counters().too_large, 1u);
  EXPECT_EQ(p.entries(), 20u);
  // A present key growing by ~3 entries' worth pushes others out.
  big.value = std::string(3 * Charge(), 'b');
  EXPECT_TRUE(p.UpdateIfPresent(HashedKey(Key(19)), MakeCachedValue(big), &garbage_));
  EXPECT_LE(p.bytes_used(), p.capacity_bytes());
  EXPECT_LT(p.entries(), 20u);
  EXPECT_EQ(garbage_.replaced.size(), 1u);
}

TEST_F(WTinyLfuTest, EraseAndClearReleaseEverything) {
  WTinyLfu::Options o;
  o.capacity_bytes = 1 << 20;
  WTinyLfu p(o);
  const size_t empty = p.bytes_used();
  for (int i = 0; i < 50; ++i) Offer(p, i);
  EXPECT_TRUE(p.Erase(HashedKey(Key(7)), &garbage_));
  EXPECT_FALSE(p.Erase(HashedKey(Key(7)), &garbage_));
  EXPECT_EQ(p.entries(), 49u);
  p.Clear(&garbage_);
  EXPECT_EQ(p.entries(), 0u);
  EXPECT_EQ(p.window_bytes() + p.probation_bytes() + p.protected_bytes(), 0u);
  EXPECT_EQ(garbage_.erased.size(), 50u);
  EXPECT_TRUE(garbage_.evicted.empty());
  // The table's small backing array may stay; entries are gone.
  EXPECT_LE(p.bytes_used(), empty + p.table_bytes());
  EXPECT_GE(p.Frequency(Key(3)), 1) << "Clear keeps popularity";
}

}  // namespace
}  // namespace kv::server::cache

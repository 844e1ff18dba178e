#include "tests/checker/convergence.h"

#include <gtest/gtest.h>

#include "tests/checker/test_util.h"

namespace kv::checker {
namespace {

using testutil::HistoryBuilder;
using testutil::V;

HistoryBuilder ThreeKeys() {
  HistoryBuilder h;
  h.LogPut(1, "a", "a1");
  h.LogPut(2, "b", "b1", /*expiration=*/1'700'000'050);
  h.LogPut(3, "a", "a2");
  h.LogPut(4, "c", "c1");
  h.LogDelete(5, "c");
  h.LogInvalidate(6, "d");
  h.Put(1, "d", "big", 6, 0, 10);
  return h;
}

TEST(ConvergenceTest, ExpectedContentAppliesTheLog) {
  HistoryBuilder h = ThreeKeys();
  std::vector<NodeEntry> want = ExpectedContent(h.log, &h.ops);
  ASSERT_EQ(want.size(), 3u);
  EXPECT_EQ(want[0].key, "a");
  EXPECT_EQ(want[0].version, 3u);
  EXPECT_EQ(want[0].value_hash, V("a2"));
  EXPECT_EQ(want[1].key, "b");
  EXPECT_EQ(want[1].expiration, 1'700'000'050);
  EXPECT_EQ(want[2].key, "d");
  EXPECT_TRUE(want[2].has_value_hash);  // from the client's put of version 6
  EXPECT_EQ(want[2].value_hash, V("big"));
  EXPECT_FALSE(ExpectedContent(h.log)[2].has_value_hash);
}

TEST(ConvergenceTest, EqualContentInAnyOrderPasses) {
  HistoryBuilder h = ThreeKeys();
  std::vector<NodeEntry> want = ExpectedContent(h.log, &h.ops);
  std::vector<NodeEntry> node(want.rbegin(), want.rend());
  CheckResult r;
  EXPECT_TRUE(CheckConvergence("edge-a", node, want, {}, &r)) << r.Summary();
  EXPECT_EQ(ContentDigest(node), ContentDigest(want));
}

TEST(ConvergenceTest, DivergedNodeIsReported) {
  HistoryBuilder h = ThreeKeys();
  std::vector<NodeEntry> want = ExpectedContent(h.log, &h.ops);

  std::vector<NodeEntry> stale = want;
  stale[0].version = 1;
  stale[0].value_hash = V("a1");
  CheckResult r;
  EXPECT_FALSE(CheckConvergence("edge-a", stale, want, {}, &r));
  ASSERT_EQ(r.count(ViolationKind::kDiverged), 1u);
  EXPECT_NE(r.violations[0].message.find("node edge-a key \"a\""), std::string::npos)
      << r.violations[0].message;
  EXPECT_NE(ContentDigest(stale), ContentDigest(want));

  std::vector<NodeEntry> missing(want.begin() + 1, want.end());
  NodeEntry extra{"zombie", true, V("z"), 5, 0};
  missing.push_back(extra);
  CheckResult r2;
  EXPECT_FALSE(CheckConvergence("edge-b", missing, want, {}, &r2));
  EXPECT_EQ(r2.count(ViolationKind::kDiverged), 2u) << r2.Summary();
}

TEST(ConvergenceTest, ExpiredKeysAreLeftOutOnBothSides) {
  HistoryBuilder h = ThreeKeys();
  std::vector<NodeEntry> want = ExpectedContent(h.log, &h.ops);
  std::vector<NodeEntry> node = want;
  node.erase(node.begin() + 1);  // "b" expired and was dropped by the node
  ConvergenceOptions before, after;
  before.now_unix_seconds = 1'700'000'049;
  after.now_unix_seconds = 1'700'000'050;
  CheckResult r;
  EXPECT_FALSE(CheckConvergence("edge-a", node, want, before, &r));
  EXPECT_TRUE(CheckConvergence("edge-a", node, want, after, &r));
  EXPECT_EQ(ContentDigest(node, after.now_unix_seconds),
            ContentDigest(want, after.now_unix_seconds));
}

TEST(ConvergenceTest, CacheNodeMayHoldASubset) {
  HistoryBuilder h = ThreeKeys();
  std::vector<NodeEntry> want = ExpectedContent(h.log, &h.ops);
  std::vector<NodeEntry> cache = {want[2]};
  ConvergenceOptions o;
  o.subset = true;
  CheckResult r;
  EXPECT_TRUE(CheckConvergence("cache", cache, want, o, &r));
  cache[0].version = 99;
  EXPECT_FALSE(CheckConvergence("cache", cache, want, o, &r));
}

TEST(ConvergenceTest, DigestIsStable) {
  // Pinned so that digests written by one build can be compared with another's.
  SetDigest d;
  d.Add("key", HashValue("value"), 7);
  EXPECT_EQ(HashValue(""), HashValue(std::string()));
  EXPECT_NE(HashValue("a"), HashValue("b"));
  EXPECT_NE(HashValue(std::string(8, 'x')), HashValue(std::string(9, 'x')));
  SetDigest twice = d;
  twice.Add("key", HashValue("value"), 7);
  EXPECT_NE(twice, d);  // a repeated item does not cancel out
  EXPECT_EQ(d.ToString().size(), 34u);
}

}  // namespace
}  // namespace kv::checker

// The limits a careless operator could get wrong, tried on the real kvd binary: a cache budget
// too small to hold anything or larger than the machine, and a nonsensical disk reserve or
// snapshot limit. Each refuses to start with a message naming the flag and why; nothing is
// allocated first (a 2TiB cache used to be allocated up front until the OOM killer ended it).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kvd_process.h"

namespace kv::testing {
namespace {

class LimitsFlagsTest : public ClusterFixture {
 protected:
  // Starts `args` and expects it to exit at once with `expected` in its log.
  void ExpectRefused(const std::string& name, std::vector<std::string> args,
                     const std::string& expected) {
    KvdProcess node(name, std::move(args), dir_.path());
    absl::Status started = node.Start(absl::Seconds(10));
    EXPECT_FALSE(started.ok()) << name << " started";
    const std::string log = node.ReadLog();
    EXPECT_TRUE(absl::StrContains(log, expected)) << name << ":\n" << log;
  }
  // Starts an edge of `mode` with `flag` set to each of `budgets`; each must be refused, naming
  // the flag.
  void ExpectBudgetsRefused(const std::string& upstream, const std::string& mode,
                            const std::string& flag, const std::vector<std::string>& budgets) {
    for (const std::string& bytes : budgets) {
      const std::string name = mode + "-" + bytes;
      ExpectRefused(name,
                    {"edge", "--mode", mode, "--upstream", upstream, "--data-dir", dir_.Sub(name),
                     flag, bytes},
                    flag);
    }
  }
};

TEST_F(LimitsFlagsTest, CacheBudgetsOutsideTheSaneRangeAreRefused) {
  KvdProcess* central = StartCentral();
  ASSERT_NE(central, nullptr);
  ExpectBudgetsRefused(central->address(), "cache", "--cache-bytes", {"0", "1", "1KiB", "2TiB"});
  // The smallest sane budget starts and serves.
  KvdProcess* edge = StartEdge("cache-ok", central->address(), "cache", {"--cache-bytes", "1MiB"});
  ASSERT_NE(edge, nullptr);
  EXPECT_TRUE(WaitReady(edge));
}

// A full edge's hot read cache: 0 turns it off (the edge serves from RocksDB alone); any other
// budget is held to the same bounds as a cache edge's.
TEST_F(LimitsFlagsTest, HotCacheBudgetsAreZeroOrSane) {
  KvdProcess* central = StartCentral();
  ASSERT_NE(central, nullptr);
  ExpectBudgetsRefused(central->address(), "full", "--hot-cache-bytes", {"1", "1KiB", "2TiB"});
  KvdProcess* off = StartEdge("hot-off", central->address(), "full", {"--hot-cache-bytes", "0"});
  ASSERT_NE(off, nullptr);
  EXPECT_TRUE(WaitReady(off));
  auto status = off->Status();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_FALSE(status->has_cache());
  // The default: a 64 MiB cache, reported in Status.
  KvdProcess* on = StartEdge("hot-default", central->address(), "full");
  ASSERT_NE(on, nullptr);
  EXPECT_TRUE(WaitReady(on));
  status = on->Status();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->cache().bytes_limit(), 64u << 20);
}

TEST_F(LimitsFlagsTest, BadDiskReserveAndSnapshotLimitsAreRefused) {
  ExpectRefused("reserve", {"central", "--data-dir", dir_.Sub("a"), "--min-free-disk", "lots"},
                "--min-free-disk");
  ExpectRefused("snapshots",
                {"central", "--data-dir", dir_.Sub("b"), "--max-concurrent-snapshots", "0"},
                "--max-concurrent-snapshots");
}

}  // namespace
}  // namespace kv::testing

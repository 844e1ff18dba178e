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
};

TEST_F(LimitsFlagsTest, CacheBudgetsOutsideTheSaneRangeAreRefused) {
  KvdProcess* central = StartCentral();
  ASSERT_NE(central, nullptr);
  for (const std::string bytes : {"0", "1", "1KiB", "2TiB"}) {
    ExpectRefused("cache-" + bytes,
                  {"edge", "--mode", "cache", "--upstream", central->address(), "--data-dir",
                   dir_.Sub("cache-" + bytes), "--cache-bytes", bytes},
                  "--cache-bytes");
  }
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
  for (const std::string bytes : {"1", "1KiB", "2TiB"}) {
    ExpectRefused("hot-" + bytes,
                  {"edge", "--mode", "full", "--upstream", central->address(), "--data-dir",
                   dir_.Sub("hot-" + bytes), "--hot-cache-bytes", bytes},
                  "--hot-cache-bytes");
  }
  KvdProcess* off = StartEdge("hot-off", central->address(), "full", {"--hot-cache-bytes", "0"});
  ASSERT_NE(off, nullptr);
  EXPECT_TRUE(WaitReady(off));
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

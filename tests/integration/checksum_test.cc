// Every replica proves it holds the same bytes (docs/operations.md, "Checksums and kvctl
// verify"): real central, full, relay, relayed and cache edges converge with equal checksums,
// and a value corrupted on a full edge's disk is found, never served after that, and healed by a
// snapshot.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "server/http/http_test_client.h"
#include "server/storage/versioned_store.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kvd_process.h"
#include "tests/support/raw_kv.h"

extern char** environ;

namespace kv::testing {
namespace {

struct KvctlResult {
  int code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs kvctl with `args` to the end; its output goes through files under `dir`.
KvctlResult RunKvctl(const std::string& dir, const std::vector<std::string>& args) {
  static int serial = 0;
  const std::string base = absl::StrCat(dir, "/kvctl.", ++serial);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, (base + ".out").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, (base + ".err").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> argv_strings = {KvctlPath()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  KvctlResult r;
  int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return r;
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.out = Slurp(base + ".out");
  r.err = Slurp(base + ".err");
  return r;
}

// The value of an unlabelled Prometheus series at `http_address` (-1 when unreadable).
double MetricValue(const std::string& http_address, const std::string& series) {
  int port = 0;
  if (!absl::SimpleAtoi(http_address.substr(http_address.rfind(':') + 1), &port)) return -1;
  server::testing::TestHttpClient client(port);
  if (!client.Connect().ok()) return -1;
  auto scraped = client.Request(server::testing::http::verb::get, "/metrics", false);
  if (!scraped.ok()) return -1;
  for (absl::string_view line : absl::StrSplit(scraped->body(), '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return -1;
}

std::string ValueOf(int i) { return absl::StrCat("value-", i, "-", std::string(i % 50, 'x')); }

class ChecksumTest : public ClusterFixture {
 protected:
  // kvctl verify of `node` against the central node, retried until it exits 0 (or 20 s).
  KvctlResult VerifyUntilMatch(KvdProcess* node) {
    KvctlResult r;
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    do {
      r = RunKvctl(dir_.path(),
                   {"verify", "--endpoint", node->address(), "--central", central_->address()});
      if (r.code == 0) break;
      absl::SleepFor(absl::Milliseconds(100));
    } while (absl::Now() < give_up);
    return r;
  }
};

TEST_F(ChecksumTest, ReplicasMatchAndACorruptedFullEdgeIsFoundAndHealed) {
  // Values above 1 KiB travel as invalidations: their records count through the value's hash.
  KvdProcess* central =
      StartCentral({"--push-value-limit", "1KiB", "--expiry-sweep-interval", "200ms"});
  KvdProcess* full = StartEdge("full", central->address(), "full", {"--http", "127.0.0.1:0"});
  KvdProcess* relay = StartEdge("relay", central->address(), "full");
  KvdProcess* relayed = StartEdge("relayed", relay->address(), "full");
  KvdProcess* cache = StartEdge("cache", central->address(), "cache");
  for (KvdProcess* n : {full, relay, relayed, cache}) ASSERT_TRUE(WaitReady(n)) << n->name();

  RawKv kv(central->address());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(kv.Put(absl::StrCat("key-", i), ValueOf(i)).ok());
  for (int i = 0; i < 300; i += 7) {
    ASSERT_TRUE(kv.Put(absl::StrCat("key-", i), ValueOf(i + 1000)).ok());
  }
  for (int i = 1; i < 300; i += 11) ASSERT_TRUE(kv.Delete(absl::StrCat("key-", i)).ok());
  ASSERT_TRUE(kv.Put("big", std::string(8 << 10, 'b')).ok());
  ASSERT_TRUE(kv.Put("ttl", "short", nullptr, /*ttl_seconds=*/1).ok());
  absl::SleepFor(absl::Seconds(2));  // the sweep logs the expired key's deletion
  kvstore::v1::PutResponse last;
  ASSERT_TRUE(kv.Put("last", "x", &last).ok());
  for (KvdProcess* n : {full, relay, relayed, cache}) {
    ASSERT_TRUE(WaitApplied(n, last.version())) << n->name();
  }

  // Every full copy, direct or relayed, matches the central node at its version.
  for (KvdProcess* n : {full, relay, relayed}) {
    KvctlResult r = VerifyUntilMatch(n);
    EXPECT_EQ(r.code, 0) << n->name() << "\n" << r.out << r.err;
    EXPECT_TRUE(absl::StrContains(r.out, "match")) << r.out;
  }
  // A cache edge has no full copy to prove.
  KvctlResult on_cache = RunKvctl(dir_.path(), {"verify", "--endpoint", cache->address()});
  EXPECT_NE(on_cache.code, 0) << on_cache.out;

  // Corrupt one value on the full edge's disk while it is down, keeping the record's version.
  ASSERT_EQ(full->Stop(), 0);
  {
    server::StoreOptions options;
    options.path = dir_.Sub("full");
    options.sync = true;
    options.disk.min_free_bytes = 0;
    auto store = server::VersionedStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->CorruptValueForTesting("key-14", "CORRUPTED").ok());
  }
  ASSERT_TRUE(full->Start().ok()) << full->ReadLog();

  // From its first answer on, the edge never serves the corrupted value: it finds the mismatch
  // at open, forwards reads until a snapshot has healed it, then answers locally again.
  RawKv at_edge(full->address());
  const absl::Time until = absl::Now() + absl::Seconds(20);
  bool healed = false;
  int reads = 0;
  while (absl::Now() < until) {
    kvstore::v1::GetResponse got;
    grpc::Status s = at_edge.Get("key-14", &got);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ++reads;
    ASSERT_TRUE(got.found());
    ASSERT_EQ(got.entry().value(), ValueOf(1014)) << "read " << reads;
    auto status = full->Status();
    if (status.ok() && status->ready() && got.info().source() == kvstore::v1::SOURCE_EDGE_STORE) {
      healed = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(healed) << "the edge did not serve locally again after " << reads << " reads";

  auto status = full->Status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->checksum_mismatches(), 1u);
  EXPECT_TRUE(absl::StrContains(status->checksum_mismatch(), "at open"))
      << status->checksum_mismatch();
  EXPECT_GE(status->replication().snapshots(), 1u);
  EXPECT_EQ(MetricValue(full->http_address(), "kv_checksum_mismatches_total"), 1);
  EXPECT_TRUE(absl::StrContains(full->ReadLog(), "checksum mismatch at open"));
  KvctlResult r = VerifyUntilMatch(full);
  EXPECT_EQ(r.code, 0) << r.out << r.err;

  // And it keeps matching as writes continue.
  ASSERT_TRUE(kv.Put("key-14", "after", &last).ok());
  ASSERT_TRUE(WaitApplied(full, last.version()));
  r = VerifyUntilMatch(full);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace kv::testing

// Atomic commits (KV.Commit) across real processes: a central node, a full edge (a relay), and
// cache edges below each. A commit is applied whole everywhere, commits sent to an edge are
// forwarded, and readers doing BatchGets of every account while commits move money between
// them never see a wrong total: not at the central node, not at a full edge, not at a cache
// edge answering some keys from its cache and reading others through.

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "kv/client.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kvd_process.h"

namespace kv::testing {
namespace {

using client::Client;
using client::CommitCheck;
using client::CommitMutation;

class CommitTest : public ClusterFixture {
 protected:
  KvdProcess* StartReadyEdge(const std::string& name, const std::string& upstream,
                             const std::string& mode, std::vector<std::string> extra = {}) {
    KvdProcess* edge = StartEdge(name, upstream, mode, std::move(extra));
    EXPECT_TRUE(WaitReady(edge)) << name << " never became ready";
    return edge;
  }
  std::unique_ptr<Client> NewClient(const std::string& write, const std::string& read = "") {
    client::ClientOptions options;
    options.write_endpoint = write;
    if (!read.empty()) options.read_endpoints = {read};
    options.session = false;  // each node answers from its own state
    auto c = Client::Create(options);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
};

std::string Account(int i) { return absl::StrFormat("acct/%02d", i); }

TEST_F(CommitTest, ACommitIsAppliedWholeAtEveryEdgeAndForwardedFromEdges) {
  KvdProcess* central = StartCentral();
  KvdProcess* relay = StartReadyEdge("relay", central->address(), "full");
  KvdProcess* cache = StartReadyEdge("cache", relay->address(), "cache");
  // Written through the cache edge: forwarded to the relay, then to the central node.
  auto via_cache = NewClient(cache->address(), cache->address());
  ASSERT_TRUE(via_cache->Put("acct/c", "gone soon").ok());
  auto r = via_cache->Commit(
      {CommitCheck::Absent("acct/a")},
      {CommitMutation::Put("acct/a", "60"), CommitMutation::Put("acct/b", "40", {.metadata = "m"}),
       CommitMutation::Delete("acct/c"), CommitMutation::Add("hits", 2)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version, 2u);
  EXPECT_EQ(r->counters, (std::vector<int64_t>{2}));
  for (KvdProcess* node : {central, relay, cache}) {
    ASSERT_TRUE(WaitApplied(node, r->version)) << node->name();
    auto reader = NewClient(central->address(), node->address());
    auto got = reader->BatchGet({"acct/a", "acct/b", "acct/c", "hits"});
    ASSERT_TRUE(got.ok()) << node->name() << ": " << got.status();
    EXPECT_EQ(got->items[0].entry.value, "60") << node->name();
    EXPECT_EQ(got->items[0].entry.version, 2u) << node->name();
    EXPECT_EQ(got->items[1].entry.metadata, "m") << node->name();
    EXPECT_EQ(got->items[1].entry.version, 2u) << node->name();
    EXPECT_FALSE(got->items[2].found) << node->name();
    EXPECT_EQ(client::DecodeCounter(got->items[3].entry.value), 2) << node->name();
  }
  // A failed check, sent to the cache edge: FAILED_PRECONDITION naming the key and its
  // version, and nothing applied anywhere.
  auto lost =
      via_cache->Commit({CommitCheck::AtVersion("acct/a", 1)},
                        {CommitMutation::Put("acct/a", "0"), CommitMutation::Add("hits", 1)});
  ASSERT_FALSE(lost.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(lost.status())) << lost.status();
  EXPECT_NE(lost.status().message().find("'acct/a' is at version 2"), std::string::npos)
      << lost.status();
  EXPECT_EQ(central->Status()->head_version(), 2u);
  // A counter that is not 8 bytes fails the commit too.
  auto not_counter = via_cache->Commit({}, {CommitMutation::Add("acct/a", 1)});
  EXPECT_TRUE(absl::IsFailedPrecondition(not_counter.status())) << not_counter.status();
}

// Accounts whose total stays kTotal: each commit moves an amount between two of them, guarded
// by checks of both versions. Readers at every node BatchGet all accounts and add them up.
TEST_F(CommitTest, ConcurrentReadersNeverSeePartOfACommit) {
  constexpr int kAccounts = 20;
  constexpr int kTotal = 1000;
  constexpr int kCommits = 300;
  KvdProcess* central = StartCentral();
  KvdProcess* relay = StartReadyEdge("relay", central->address(), "full");
  // A small cache churned by reads of other keys: accounts are evicted and read through again,
  // so batches mix cached keys and keys fetched from the upstream.
  KvdProcess* cache =
      StartReadyEdge("cache", central->address(), "cache", {"--cache-bytes", "1MiB"});
  KvdProcess* cache2 = StartReadyEdge("cache2", relay->address(), "cache");
  auto writer = NewClient(central->address(), central->address());
  std::vector<CommitMutation> setup;
  for (int i = 0; i < kAccounts; ++i) {
    setup.push_back(CommitMutation::Put(Account(i), std::to_string(kTotal / kAccounts)));
  }
  ASSERT_TRUE(writer->Commit({}, setup).ok());
  // Noise: 1,500 values of 2 KiB, three times what the small cache holds.
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<CommitMutation> noise;
    for (int i = 0; i < 500; ++i) {
      noise.push_back(
          CommitMutation::Put(absl::StrCat("noise/", batch * 500 + i), std::string(2048, 'n')));
    }
    ASSERT_TRUE(writer->Commit({}, noise).ok());
  }
  std::vector<std::string> accounts;
  for (int i = 0; i < kAccounts; ++i) accounts.push_back(Account(i));

  std::atomic<bool> done{false};
  absl::Mutex mu;
  std::vector<std::string> wrong;  // guarded by mu
  std::atomic<int> reads{0};
  std::vector<std::thread> threads;
  for (KvdProcess* node : {central, relay, cache, cache2}) {
    threads.emplace_back([&, node] {
      auto reader = NewClient(central->address(), node->address());
      const absl::Time give_up = absl::Now() + absl::Seconds(60);
      while (!done.load() && absl::Now() < give_up) {
        auto got = reader->BatchGet(accounts);
        if (!got.ok()) continue;  // e.g. a read-through that timed out: not a wrong answer
        int sum = 0;
        for (const auto& item : got->items) sum += item.found ? std::stoi(item.entry.value) : 0;
        reads.fetch_add(1);
        if (sum != kTotal) {
          absl::MutexLock l(&mu);
          wrong.push_back(
              absl::StrCat(node->name(), " saw ", sum, " as of ", got->info.as_of_version));
        }
      }
    });
  }
  threads.emplace_back([&] {  // churns the small cache
    auto reader = NewClient(central->address(), cache->address());
    std::mt19937 rng(7);
    while (!done.load()) {
      (void)reader->Get(absl::StrCat("noise/", rng() % 1500));
    }
  });

  std::mt19937 rng(42);
  int committed = 0, lost = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  while (committed < kCommits && absl::Now() < deadline) {
    const int from = rng() % kAccounts;
    const int to = (from + 1 + rng() % (kAccounts - 1)) % kAccounts;
    auto now = writer->BatchGet({Account(from), Account(to)},
                                {.consistency = client::Consistency::kStrong});
    ASSERT_TRUE(now.ok()) << now.status();
    const int have = std::stoi(now->items[0].entry.value);
    const int amount = have == 0 ? 0 : 1 + static_cast<int>(rng() % have);
    auto r = writer->Commit(
        {CommitCheck::AtVersion(Account(from), now->items[0].entry.version),
         CommitCheck::AtVersion(Account(to), now->items[1].entry.version)},
        {CommitMutation::Put(Account(from), std::to_string(have - amount)),
         CommitMutation::Put(Account(to),
                             std::to_string(std::stoi(now->items[1].entry.value) + amount))});
    if (r.ok()) {
      ++committed;
    } else {
      ASSERT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
      ++lost;
    }
  }
  const uint64_t head = central->Status()->head_version();
  for (KvdProcess* node : {relay, cache, cache2}) EXPECT_TRUE(WaitApplied(node, head));
  done.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(committed, kCommits);
  EXPECT_EQ(lost, 0);  // one writer: its checks never lose
  EXPECT_GT(reads.load(), 100);
  absl::MutexLock l(&mu);
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " wrong totals, first: " << wrong.front();
  // Every node converged to the same accounts.
  for (KvdProcess* node : {relay, cache, cache2}) {
    auto reader = NewClient(central->address(), node->address());
    auto got = reader->BatchGet(accounts);
    ASSERT_TRUE(got.ok());
    int sum = 0;
    for (const auto& item : got->items) sum += std::stoi(item.entry.value);
    EXPECT_EQ(sum, kTotal) << node->name();
  }
}

}  // namespace
}  // namespace kv::testing

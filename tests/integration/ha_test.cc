// Central nodes with standbys (docs/ha.md), tested with real processes: a real etcd (Debian's
// etcd-server) and three `kvd central --ha-etcd` nodes on loopback. One is elected leader, the
// others follow it as standbys; writes sent to a standby are forwarded; the leader is killed
// with SIGKILL under a write load and a standby takes over within the lease TTL plus a second,
// with every acknowledged write still there and every node, and a full and a cache edge
// following all three (`--upstream A,B,C`), converging. The failure scenarios (partitions, etcd
// down, the whole cluster restarted) are in ha_faults_test.cc; the fixture in ha_fixture.h.
//
// KV_HA_ROUNDS (default 2) sets how many leaders the kill test kills; tests/soak.sh runs 20.
// KV_HA_SEED (default random, printed) picks the moments of the kills and the write mix.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tests/checker/proto_convert.h"
#include "tests/integration/fault_check.h"
#include "tests/integration/fault_workload.h"
#include "tests/integration/ha_fixture.h"
#include "tests/support/cluster_fixture.h"

namespace kv::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using kvstore::v1::GetRequest;
using kvstore::v1::GetResponse;
using kvstore::v1::PutRequest;
using kvstore::v1::PutResponse;

grpc::Status Put(KvdProcess* node, const std::string& key, const std::string& value,
                 PutResponse* response, absl::Duration timeout = absl::Seconds(5)) {
  auto stub = node->KvStub();
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  PutRequest request;
  request.set_key(key);
  request.set_value(value);
  return stub->Put(&ctx, request, response);
}

TEST_F(HaTest, OneLeaderStandbysFollowAndForwardWrites) {
  StartCentral("c1");
  StartCentral("c2");
  StartCentral("c3");
  KvdProcess* leader = WaitSettledLeader();
  ASSERT_NE(leader, nullptr) << "no settled leader: " << Role(nodes_[0].get()) << " "
                             << Role(nodes_[1].get()) << " " << Role(nodes_[2].get());
  // Writes wait until a standby is in sync (--sync-standbys 1).
  ASSERT_TRUE(WaitFor(
      [&] {
        auto status = leader->Status();
        return status.ok() && !status->ha_in_sync().empty();
      },
      absl::Seconds(20)))
      << "no standby joined the in-sync set";
  PutResponse put;
  grpc::Status s = Put(leader, "a", "1", &put);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // A write sent to a standby reaches the leader.
  KvdProcess* standby = nodes_[0].get() == leader ? nodes_[1].get() : nodes_[0].get();
  PutResponse forwarded;
  s = Put(standby, "b", "2", &forwarded);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(forwarded.version(), put.version() + 1);
  // Every node holds both, and a standby answers reads from its own store.
  for (auto& node : nodes_) {
    EXPECT_TRUE(WaitFor([&] { return Head(node.get()) >= forwarded.version(); }))
        << node->name() << " stays at " << Head(node.get());
  }
  // Once its freshness is proven (a pong covered by what it applied), within its bound.
  auto stub = standby->KvStub();
  GetResponse got;
  EXPECT_TRUE(WaitFor(
      [&] {
        grpc::ClientContext ctx;
        GetRequest get;
        get.set_key("b");
        got.Clear();
        return stub->Get(&ctx, get, &got).ok() && got.info().node_id() == standby->name();
      },
      absl::Seconds(5)))
      << "the standby never answered by itself: " << got.ShortDebugString();
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.entry().value(), "2");
  EXPECT_LT(got.info().staleness_micros(), 5'000'000);
  auto status = standby->Status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->ha_role(), "standby");
  EXPECT_GE(status->ha_epoch(), 1u);

  // kvctl takes the central nodes as one comma-separated list and reaches a live one (the first
  // here is dead); a standby forwards the write. Its status names its role and the leader.
  const std::string out = dir_.Sub("kvctl.out");
  auto kvctl = [&](const std::string& args) {
    int rc = std::system(absl::StrCat(KvctlPath(), " ", args, " >", out, " 2>&1").c_str());
    return rc;
  };
  EXPECT_EQ(kvctl(absl::StrCat("--endpoint ", DeadAddress(), ",", standby->address(),
                               " put via-list yes")),
            0)
      << ReadFile(out);
  EXPECT_EQ(kvctl(absl::StrCat("--endpoint ", standby->address(), " status")), 0) << ReadFile(out);
  const std::string text = ReadFile(out);
  EXPECT_NE(text.find("role:             central (standby)"), std::string::npos) << text;
  EXPECT_NE(text.find(absl::StrCat("leader:           ", leader->address())), std::string::npos)
      << text;
  PutResponse after;
  ASSERT_TRUE(Put(leader, "c", "3", &after).ok());
  EXPECT_EQ(after.version(), forwarded.version() + 2) << "the list's write was not applied once";

  // A downstream's Fetch at a standby is labelled with the standby's staleness, not a leader's
  // zero: with the leader paused, the standby's freshness stops.
  ASSERT_TRUE(WaitFor([&] { return Head(standby) >= after.version(); }));
  leader->Pause();
  absl::SleepFor(absl::Milliseconds(800));
  auto replication = standby->ReplicationStub();
  grpc::ClientContext fetch_ctx;
  kvstore::v1::FetchRequest fetch;
  fetch.set_key("c");
  fetch.set_node_id("fetcher");
  kvstore::v1::FetchResponse fetched;
  s = replication->Fetch(&fetch_ctx, fetch, &fetched);
  leader->Resume();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(fetched.found());
  EXPECT_GE(fetched.info().staleness_micros(), 700'000) << fetched.info().ShortDebugString();
}

// A leader frozen past its lease (SIGSTOP: a stalled VM, a long pause) wakes up deposed, with a
// store that lacks what its successor wrote meanwhile. Whether or not it has noticed yet, it must
// not answer reads, or pongs, as fresh: its data is as fresh as the end of its trust.
TEST_F(HaTest, ALeaderFrozenPastItsLeaseDoesNotAnswerAsFreshWhenItWakes) {
  StartCentral("c1");
  StartCentral("c2");
  StartCentral("c3");
  KvdProcess* leader = WaitSettledLeader();
  ASSERT_NE(leader, nullptr) << Roles();
  ASSERT_TRUE(WaitInSync(leader, 2));
  PutResponse put;
  ASSERT_TRUE(Put(leader, "k", "old", &put).ok());
  for (auto& node : nodes_) ASSERT_TRUE(WaitFor([&] { return Head(node.get()) >= put.version(); }));

  leader->Pause();
  KvdProcess* next = nullptr;
  ASSERT_TRUE(WaitFor([&] { return (next = AnyLeader(leader)) != nullptr; }, absl::Seconds(20),
                      absl::Milliseconds(20)))
      << "no new leader while the old one is frozen";
  PutResponse newer;
  grpc::Status s;
  ASSERT_TRUE(WaitFor([&] { return (s = Put(next, "k", "new", &newer)).ok(); }, absl::Seconds(10)))
      << s.error_message();
  leader->Resume();

  // Read at once and for a while: every answer within a 500 ms bound must hold the new value.
  auto stub = leader->KvStub();
  int answered = 0;
  const absl::Time until = absl::Now() + absl::Seconds(2);
  while (absl::Now() < until) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    GetRequest get;
    get.set_key("k");
    get.mutable_options()->set_max_staleness_micros(500'000);
    GetResponse got;
    if (stub->Get(&ctx, get, &got).ok()) {
      ++answered;
      EXPECT_EQ(got.entry().value(), "new") << "a stale answer: " << got.ShortDebugString();
      if (got.entry().value() != "new") break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  std::fprintf(stderr, "%d reads answered by the woken leader in 2 s\n", answered);
  // It forwards to its successor once it knows it, so some reads are answered, all new.
  EXPECT_GT(answered, 0);
}

// kill -9 of the leader under a write load, KV_HA_ROUNDS times (the seed picks the moment of
// each kill and the write mix: how many writes go to the leader, how many to a standby, which
// forwards them). A full and a cache edge follow the three central nodes (`--upstream A,B,C`).
// Every round a new leader must take writes within --ha-lease-ttl (2 s) + 1 s of the kill; in the
// end every node and edge converges to the leader's head and holds every acknowledged write.
TEST_F(HaTest, KillingTheLeaderUnderLoadLosesNoAcknowledgedWrite) {
  int rounds = 2;
  if (const char* env = std::getenv("KV_HA_ROUNDS")) rounds = std::max(1, std::atoi(env));
  StartThreeCentralsAndTwoEdges();
  ASSERT_FALSE(HasFailure());

  // Percent of writes sent to the node believed to lead; the rest go to a random running node.
  const int to_leader = static_cast<int>(rng_() % 101);
  std::atomic<KvdProcess*> target{SettledLeader()};
  WriteLoad load(2, seed_, [&](int, uint64_t random) -> KvdProcess* {
    if (static_cast<int>(random % 100) < to_leader) return target.load();
    KvdProcess* node = nodes_[(random / 100) % nodes_.size()].get();
    return node->running() ? node : target.load();
  });

  std::vector<int64_t> gap_ms, elected_ms;
  for (int round = 0; round < rounds; ++round) {
    absl::SleepFor(RandomMillis(300, 2000));
    KvdProcess* leader = SettledLeader();
    ASSERT_NE(leader, nullptr) << "round " << round << ": no settled leader: " << Roles();
    ASSERT_GT(load.count(), 0u);
    const int64_t killed_at = absl::ToUnixMicros(absl::Now());
    leader->Kill();
    KvdProcess* next = nullptr;
    ASSERT_TRUE(WaitFor([&] { return (next = AnyLeader(leader)) != nullptr; }, absl::Seconds(15),
                        absl::Milliseconds(20)))
        << "round " << round << ": no new leader: " << Roles();
    target.store(next);
    elected_ms.push_back((absl::ToUnixMicros(absl::Now()) - killed_at) / 1000);
    const int64_t first_ack = load.WaitAckSentAfter(killed_at, absl::Seconds(15));
    ASSERT_NE(first_ack, 0) << "round " << round << ": no write acknowledged after the kill";
    gap_ms.push_back((first_ack - killed_at) / 1000);
    // The killed node comes back and rejoins as a standby.
    absl::Status restarted = leader->Start();
    ASSERT_TRUE(restarted.ok()) << restarted;
    ASSERT_NE(WaitSettledLeader(), nullptr)
        << "round " << round << ": the cluster did not settle: " << Roles();
  }
  absl::SleepFor(absl::Milliseconds(500));
  load.Stop();

  VerifyHistory(load.acked(), "HA kill test");
  // Every central node serves the same history: an edge that moved to another after a kill
  // resumed from its version, with no RESET and no snapshot beyond its first.
  for (auto& edge : edges_) {
    auto status = edge->Status();
    ASSERT_TRUE(status.ok()) << edge->name();
    EXPECT_EQ(status->replication().resets(), 0u) << edge->name();
    EXPECT_LE(status->replication().snapshots(), 1u) << edge->name();
  }
  const std::string all_gaps = absl::StrJoin(gap_ms, " ");
  std::sort(gap_ms.begin(), gap_ms.end());
  std::fprintf(stderr,
               "HA kill test: %d rounds, %d%% of writes to the leader, write gap after a kill "
               "(ms): p50 %lld, p99 %lld, max %lld; all: %s; new leader seen after (ms): %s\n",
               rounds, to_leader, static_cast<long long>(Percentile(gap_ms, 50)),
               static_cast<long long>(Percentile(gap_ms, 99)),
               static_cast<long long>(gap_ms.back()), all_gaps.c_str(),
               absl::StrJoin(elected_ms, " ").c_str());
  ASSERT_EQ(gap_ms.size(), static_cast<size_t>(rounds));
  // --ha-lease-ttl 2s: a new leader takes writes within the TTL plus a second (issue 17).
  EXPECT_LE(Percentile(gap_ms, 99), 3000);
}

// Flags that would break the fence or the etcd layout are refused at start, naming the flag.
TEST_F(HaTest, BadHaFlagsAreRefusedAtStart) {
  const std::string out = dir_.Sub("kvd.out");
  for (const auto& [flags, named] : std::vector<std::pair<std::string, std::string>>{
           {"--ha-lease-ttl 1500ms", "--ha-lease-ttl"},  // etcd grants whole seconds
           {"--ha-cluster a/b", "--ha-cluster"},         // would escape /kv/<cluster>/
           {"--sync-standbys -1", "--sync-standbys"},
           {"--listen 0.0.0.0:0 --insecure", "--advertise"}}) {
    const std::string cmd =
        absl::StrCat(KvdPath(), " central --data-dir ", dir_.Sub("bad"), " --ha-etcd ",
                     etcd_.endpoint(), " ", flags, " >", out, " 2>&1");
    EXPECT_NE(std::system(cmd.c_str()), 0) << flags;
    EXPECT_NE(ReadFile(out).find(named), std::string::npos) << flags << ": " << ReadFile(out);
  }
}

// The history checker (tests/checker) over a run with leader kills (KV_HA_ROUNDS, default 2):
// writing and reading clients
// (some with sessions) call the three central nodes through one comma-separated target and the
// two edges; the final leader's change log, read from version 1, is the history every check is
// made against: no acknowledged write lost or applied twice, no read staler than its bound or
// its reported staleness, no torn or non-monotonic session read, across failovers.
TEST_F(HaTest, TheHistoryCheckerFindsNoViolationAcrossLeaderKills) {
  StartThreeCentralsAndTwoEdges();
  ASSERT_FALSE(HasFailure());
  std::vector<std::string> centrals;
  for (auto& node : nodes_) centrals.push_back(node->address());
  std::vector<Target> targets = {{"centrals", absl::StrJoin(centrals, ","), true, -1}};
  for (auto& edge : edges_) targets.push_back({edge->name(), edge->address(), false, 1'000'000});
  checker::History history(Clock::Real());
  WorkloadOptions options;
  options.writers = 2;
  options.readers_per_edge = 2;
  options.central_readers = 1;
  Workload load(targets, &history, options, seed_);
  load.Start();
  int rounds = 2;
  if (const char* env = std::getenv("KV_HA_ROUNDS")) rounds = std::max(1, std::atoi(env));
  for (int round = 0; round < rounds; ++round) {
    absl::SleepFor(RandomMillis(500, 1500));
    KvdProcess* leader = SettledLeader();
    ASSERT_NE(leader, nullptr) << "round " << round << ": " << Roles();
    leader->Kill();
    ASSERT_TRUE(WaitFor([&] { return AnyLeader(leader) != nullptr; }, absl::Seconds(15)))
        << "round " << round << ": no new leader: " << Roles();
    absl::SleepFor(absl::Seconds(1));
    absl::Status restarted = leader->Start();
    ASSERT_TRUE(restarted.ok()) << restarted;
    ASSERT_NE(WaitSettledLeader(), nullptr) << "round " << round << ": " << Roles();
  }
  absl::SleepFor(absl::Milliseconds(500));
  load.Stop();
  ExpectConverged();
  KvdProcess* leader = WaitSettledLeader();
  ASSERT_NE(leader, nullptr);
  FinalState state;
  state.head = Head(leader);
  LogTap tap(leader->address());
  auto changes = tap.Changes(state.head, absl::Seconds(30));
  ASSERT_TRUE(changes.ok()) << changes.status();
  for (const auto& c : *changes) {
    if (c.version() > state.head) break;
    for (checker::LogEntry& e : checker::LogEntriesFromChange(c)) state.log.push_back(std::move(e));
  }
  const WorkloadCounts counts = load.counts();
  Verdict verdict = CheckRun(history.Snapshot(), load.session_clients(), state);
  std::fprintf(stderr,
               "HA checker test: head %llu, writes ok %llu / failed %llu / unknown %llu, reads ok "
               "%llu / not ok %llu\n%s",
               static_cast<unsigned long long>(state.head),
               static_cast<unsigned long long>(counts.writes_ok),
               static_cast<unsigned long long>(counts.writes_failed),
               static_cast<unsigned long long>(counts.writes_unknown),
               static_cast<unsigned long long>(counts.reads_ok),
               static_cast<unsigned long long>(counts.reads_not_ok), verdict.Summary().c_str());
  EXPECT_GT(counts.writes_ok, 0u);
  EXPECT_GT(counts.reads_ok, 0u);
  EXPECT_TRUE(verdict.all.ok()) << verdict.Summary();
  EXPECT_TRUE(verdict.sessions.ok()) << verdict.Summary();
}

}  // namespace
}  // namespace kv::testing

// Central nodes with standbys (docs/ha.md) under the failures issue 17 names, with real
// processes: a real etcd, three `kvd central --ha-etcd` nodes and a full edge following all of
// them, a write load recording every acknowledged write, and the fixture's final checks
// (convergence, no acknowledged write lost, no two writes with one version, real-time order):
// - the leader partitioned from etcd but not from its clients or standbys (its --ha-etcd goes
//   through a FaultProxy);
// - a standby frozen (SIGSTOP: a standby dials the leader's advertised address from etcd, so no
//   proxy can sit on one standby's replication link alone) and thawed;
// - etcd frozen or killed, then resumed or restarted on its data directory;
// - the whole cluster killed or stopped, then started again.
//
// KV_HA_SEED (default random, printed) picks the variants and the moments.

#include <gtest/gtest.h>

#include <csignal>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ha/etcd_client.h"
#include "server/ha/etcd_layout.h"
#include "tests/checker/proto_convert.h"
#include "tests/faultproxy/fault_proxy.h"
#include "tests/integration/fault_check.h"
#include "tests/integration/fault_workload.h"
#include "tests/integration/ha_fixture.h"

namespace kv::testing {
namespace {

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

class HaFaultTest : public HaTest {
 protected:
  void TearDown() override {
    HaTest::TearDown();
    if (etcd_link_ != nullptr) etcd_link_->Stop();
  }

  // Three central nodes (c1 elected first) and a full edge below all of them; `c1_etcd`: the
  // etcd endpoint c1 is given.
  void StartCluster(const std::string& c1_etcd = "") {
    KvdProcess* c1 = StartCentral("c1", {}, c1_etcd);
    ASSERT_TRUE(WaitFor([&] { return Role(c1) == "leader"; }, absl::Seconds(20))) << Roles();
    StartCentral("c2");
    StartCentral("c3");
    KvdProcess* leader = WaitSettledLeader();
    ASSERT_EQ(leader, c1) << Roles();
    ASSERT_TRUE(WaitInSync(leader, 2)) << "standbys did not join the in-sync set";
    StartEdge("edge-full", "full");
    ASSERT_FALSE(HasFailure());
  }

  // Reads `key` at `node` (allow_stale: beyond the staleness bound too); true when answered.
  static bool Readable(KvdProcess* node, const std::string& key) {
    auto stub = node->KvStub();
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    kvstore::v1::GetRequest get;
    get.set_key(key);
    get.mutable_options()->set_allow_stale(true);
    kvstore::v1::GetResponse got;
    return stub->Get(&ctx, get, &got).ok() && got.found();
  }

  // epoch -> the first version its leader committed, from etcd.
  std::map<uint64_t, uint64_t> Epochs() {
    std::map<uint64_t, uint64_t> epochs;
    auto client = ha::EtcdClient::Connect({.endpoints = {etcd_.endpoint()}});
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return epochs;
    server::EtcdLayout layout("test");
    auto kvs = (*client)->GetPrefix(layout.epochs());
    EXPECT_TRUE(kvs.ok()) << kvs.status();
    if (!kvs.ok()) return epochs;
    for (const auto& kv : *kvs) {
      if (auto epoch = layout.EpochOfKey(kv.key)) {
        epochs[*epoch] = std::strtoull(kv.value.c_str(), nullptr, 10);
      }
    }
    return epochs;
  }

  std::unique_ptr<FaultProxy> etcd_link_;
};

// The leader loses etcd but not its clients or standbys. It must stop acknowledging before its
// lease can expire, a standby is elected, and no write the old leader acknowledges (as leader:
// a version of its epoch) is answered after the new leader's first acknowledged write. Healed,
// the old leader follows the new one as a standby and converges.
TEST_F(HaFaultTest, LeaderPartitionedFromEtcd) {
  etcd_link_ = std::make_unique<FaultProxy>(
      FaultProxyOptions{.target_address = etcd_.endpoint(), .seed = seed_});
  ASSERT_TRUE(etcd_link_->Start().ok());
  ASSERT_NO_FATAL_FAILURE(StartCluster(etcd_link_->listen_address()));
  KvdProcess* old_leader = Central("c1");
  const uint64_t old_epoch = old_leader->Status()->ha_epoch();

  // Writer 0 sends to the old leader only; writers 1 and 2 to c2 and c3 (which forward).
  WriteLoad load(3, seed_, [&](int w, uint64_t) { return nodes_[w].get(); });
  // And the history checker's clients: writes and reads at the old leader, and through the two
  // others; an acknowledgement by the old leader after the new leader's first write would be a
  // real-time order violation (its version is below every version of the new epoch).
  checker::History history(Clock::Real());
  WorkloadOptions checked_options;
  checked_options.writers = 2;
  checked_options.readers_per_edge = 1;
  Workload checked(
      {{"c1", old_leader->address(), true, -1},
       {"c2,c3", absl::StrCat(Central("c2")->address(), ",", Central("c3")->address()), false, -1}},
      &history, checked_options, seed_);
  checked.Start();
  absl::SleepFor(RandomMillis(500, 1500));
  ASSERT_GT(load.count(), 0u);
  const bool silent = rng_() % 2 == 0;
  const int64_t cut_at = NowMicros();
  etcd_link_->RefuseNew(true);
  if (silent) {
    etcd_link_->Pause();  // bytes held: keep-alives go unanswered
  } else {
    etcd_link_->CutAll();  // connections reset, new ones refused
  }
  KvdProcess* new_leader = nullptr;
  ASSERT_TRUE(WaitFor([&] { return (new_leader = AnyLeader(old_leader)) != nullptr; },
                      absl::Seconds(15), absl::Milliseconds(20)))
      << "no standby was elected: " << Roles();
  const int64_t elected_at = NowMicros();
  EXPECT_TRUE(WaitFor([&] { return Role(old_leader) != "leader"; }, absl::Seconds(5)))
      << "the old leader still says it leads";
  ASSERT_NE(load.WaitAckSentAfter(elected_at, absl::Seconds(10)), 0)
      << "no write acknowledged under the new leader";
  absl::SleepFor(RandomMillis(500, 1500));

  // Heal: the old leader rejoins as a standby.
  etcd_link_->RefuseNew(false);
  etcd_link_->Resume();
  etcd_link_->CutAll();
  KvdProcess* settled = WaitSettledLeader();
  EXPECT_EQ(settled, new_leader) << Roles();
  EXPECT_TRUE(WaitFor([&] { return Role(old_leader) == "standby"; }, absl::Seconds(20)))
      << "the old leader did not rejoin: " << Roles();
  absl::SleepFor(absl::Milliseconds(500));
  load.Stop();
  checked.Stop();

  {
    // The checker, against the final leader's change log from version 1.
    ExpectConverged();
    FinalState state;
    state.head = Head(settled);
    LogTap tap(settled->address());
    auto changes = tap.Changes(state.head, absl::Seconds(30));
    ASSERT_TRUE(changes.ok()) << changes.status();
    for (const auto& c : *changes) {
      if (c.version() > state.head) break;
      for (checker::LogEntry& e : checker::LogEntriesFromChange(c)) {
        // The other load's writes (keys "w<n>/...", which no checked client touches) stay in
        // the log as deletions of their own keys, which the checker allows unexplained (as it
        // does the expiry sweep's): the log keeps every version, the checked keys are untouched.
        if (!absl::StartsWith(e.key, "k/")) {
          e.kind = checker::ChangeKind::kDelete;
          e.has_value_hash = false;
          e.value_hash = 0;
          e.expiration = 0;
        }
        state.log.push_back(std::move(e));
      }
    }
    Verdict verdict = CheckRun(history.Snapshot(), checked.session_clients(), state);
    std::fprintf(stderr, "etcd partition, history checker:\n%s", verdict.Summary().c_str());
    EXPECT_GT(checked.counts().writes_ok, 0u);
    EXPECT_TRUE(verdict.all.ok()) << verdict.Summary();
    EXPECT_TRUE(verdict.sessions.ok()) << verdict.Summary();
  }

  const std::vector<AckedWrite> acked = load.acked();
  std::map<uint64_t, uint64_t> epochs = Epochs();
  ASSERT_TRUE(epochs.count(old_epoch + 1)) << "no epoch after " << old_epoch;
  const uint64_t new_epoch_start = epochs[old_epoch + 1];
  // The old leader's acknowledgements as leader: versions below the next epoch's start, answered
  // by c1 (writes to c2 and c3 were forwarded, and any version c1 answered after it stepped
  // down was committed by the new leader).
  int64_t old_last_ack = 0, new_first_ack = 0;
  size_t old_acks_after_new = 0;
  for (const auto& write : acked) {
    if (write.version >= new_epoch_start &&
        (new_first_ack == 0 || write.acked_micros < new_first_ack)) {
      new_first_ack = write.acked_micros;
    }
  }
  ASSERT_NE(new_first_ack, 0);
  for (const auto& write : acked) {
    if (write.node != "c1" || write.version >= new_epoch_start) continue;
    old_last_ack = std::max(old_last_ack, write.acked_micros);
    // The old leader answered within [sent, acked]; answered after the new leader's first
    // acknowledgement is proven when even the send came after it.
    if (write.sent_micros > new_first_ack) ++old_acks_after_new;
  }
  EXPECT_EQ(old_acks_after_new, 0u) << "the old leader acknowledged writes after the new leader";
  EXPECT_LT(old_last_ack, new_first_ack);
  std::fprintf(stderr,
               "etcd partition (%s): old leader's last ack %lld ms after the cut, new leader's "
               "first ack %lld ms after it (margin %lld ms), new epoch starts at version %llu\n",
               silent ? "silent" : "reset", static_cast<long long>((old_last_ack - cut_at) / 1000),
               static_cast<long long>((new_first_ack - cut_at) / 1000),
               static_cast<long long>((new_first_ack - old_last_ack) / 1000),
               static_cast<unsigned long long>(new_epoch_start));
  VerifyHistory(acked, "etcd partition");
}

// A standby frozen (SIGSTOP) and thawed: writes continue once it leaves the in-sync set (after
// --ha-standby-timeout; --sync-standbys 1 and the other standby suffice), then it catches up and
// rejoins the in-sync set.
TEST_F(HaFaultTest, StandbyPartitionedThenHealed) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  KvdProcess* leader = Central("c1");
  KvdProcess* standby = Central(rng_() % 2 == 0 ? "c2" : "c3");
  WriteLoad load(2, seed_, [&](int, uint64_t) { return leader; });
  absl::SleepFor(RandomMillis(300, 1000));
  const int64_t paused_at = NowMicros();
  standby->Pause();
  const int64_t first_ack = load.WaitAckSentAfter(paused_at, absl::Seconds(10));
  ASSERT_NE(first_ack, 0) << "writes stopped with one standby frozen";
  EXPECT_TRUE(WaitFor(
      [&] {
        auto members = InSync(leader);
        return std::find(members.begin(), members.end(), standby->name()) == members.end();
      },
      absl::Seconds(10)))
      << "the frozen standby stayed in the in-sync set: " << absl::StrJoin(InSync(leader), ",");
  const size_t before = load.CountSentAfter(paused_at);
  absl::SleepFor(RandomMillis(1000, 2000));
  EXPECT_GT(load.CountSentAfter(paused_at), before) << "writes did not continue";
  EXPECT_EQ(Role(leader), "leader");
  const int64_t resumed_at = NowMicros();
  standby->Resume();
  EXPECT_TRUE(WaitFor(
      [&] {
        auto members = InSync(leader);
        return std::find(members.begin(), members.end(), standby->name()) != members.end();
      },
      absl::Seconds(20)))
      << "the standby did not rejoin the in-sync set";
  const int64_t rejoined_at = NowMicros();
  absl::SleepFor(absl::Milliseconds(500));
  load.Stop();
  std::fprintf(stderr,
               "standby partition: writes resumed %lld ms after the freeze, the standby rejoined "
               "the in-sync set %lld ms after the thaw\n",
               static_cast<long long>((first_ack - paused_at) / 1000),
               static_cast<long long>((rejoined_at - resumed_at) / 1000));
  EXPECT_EQ(SettledLeader(), leader) << Roles();
  VerifyHistory(load.acked(), "standby partition");
}

// etcd frozen (SIGSTOP) or killed, then resumed or restarted on its data directory. While it is
// down the leader stops acknowledging within about the lease TTL and every node (central nodes
// and the edge) keeps answering reads; once it is back a leader takes writes again and nothing
// acknowledged is lost.
TEST_F(HaFaultTest, EtcdStoppedAndRestarted) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  std::atomic<KvdProcess*> target{Central("c1")};
  WriteLoad load(2, seed_, [&](int, uint64_t) { return target.load(); });
  absl::SleepFor(RandomMillis(300, 1000));
  ASSERT_GT(load.count(), 0u);
  const std::string known_key = load.acked().front().key;
  const bool kill = rng_() % 2 == 0;
  const int64_t down_at = NowMicros();
  if (kill) {
    etcd_.Kill();
  } else {
    etcd_.Pause();
  }
  // Lease TTL 2 s: trust runs out at most TTL - 300 ms after the last keep-alive was sent.
  absl::SleepFor(absl::Seconds(3));
  const int64_t last_ack = load.last_ack_micros();
  EXPECT_LT(last_ack - down_at, 2'500'000) << "the leader acknowledged writes without etcd";
  const size_t acked_while_down = load.count();
  for (auto* list : {&nodes_, &edges_}) {
    for (auto& node : *list) {
      EXPECT_TRUE(Readable(node.get(), known_key)) << node->name() << " stopped serving reads";
    }
  }
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(load.count(), acked_while_down) << "writes acknowledged while etcd was down";
  const int64_t up_at = NowMicros();
  if (kill) {
    absl::Status started = etcd_.Start();
    ASSERT_TRUE(started.ok()) << started << "\n" << etcd_.ReadLog();
  } else {
    etcd_.Resume();
  }
  KvdProcess* leader = WaitSettledLeader();
  ASSERT_NE(leader, nullptr) << "no leader after etcd returned: " << Roles();
  target.store(leader);
  const int64_t first_ack = load.WaitAckSentAfter(up_at, absl::Seconds(20));
  EXPECT_NE(first_ack, 0) << "no write acknowledged after etcd returned";
  absl::SleepFor(absl::Milliseconds(500));
  load.Stop();
  std::fprintf(stderr,
               "etcd %s: last ack %lld ms after etcd went down; writes again %lld ms after it "
               "returned\n",
               kill ? "killed and restarted" : "paused and resumed",
               static_cast<long long>((last_ack - down_at) / 1000),
               static_cast<long long>((first_ack - up_at) / 1000));
  VerifyHistory(load.acked(), "etcd restart");
}

// All three central nodes stopped (SIGKILL or SIGTERM, by seed) and started again: a leader is
// elected, every acknowledged write is there, writes continue, the edge converges.
TEST_F(HaFaultTest, WholeClusterRestarted) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  std::atomic<KvdProcess*> target{Central("c1")};
  WriteLoad load(2, seed_, [&](int, uint64_t) { return target.load(); });
  absl::SleepFor(RandomMillis(500, 1500));
  ASSERT_GT(load.count(), 0u);
  const bool kill = rng_() % 2 == 0;
  target.store(nullptr);
  std::string stops;
  for (auto& node : nodes_) {
    if (kill) {
      node->Kill();
    } else {
      const absl::Time t = absl::Now();
      const int code = node->Stop();
      EXPECT_EQ(code, 0) << node->name() << " did not exit cleanly on SIGTERM";
      absl::StrAppend(&stops, " ", node->name(), " exit ", code, " after ",
                      absl::ToInt64Milliseconds(absl::Now() - t), " ms;");
    }
  }
  if (!kill) std::fprintf(stderr, "whole cluster stopped (SIGTERM):%s\n", stops.c_str());
  const size_t acked_before = load.count();
  const int64_t restart_at = NowMicros();
  // Started in a seeded order.
  std::vector<KvdProcess*> order;
  for (auto& node : nodes_) order.push_back(node.get());
  std::shuffle(order.begin(), order.end(), rng_);
  for (KvdProcess* node : order) {
    absl::Status s = node->Start();
    ASSERT_TRUE(s.ok()) << node->name() << ": " << s;
  }
  KvdProcess* leader = WaitSettledLeader();
  ASSERT_NE(leader, nullptr) << "no leader after the restart: " << Roles();
  target.store(leader);
  const int64_t first_ack = load.WaitAckSentAfter(restart_at, absl::Seconds(20));
  EXPECT_NE(first_ack, 0) << "no write acknowledged after the restart";
  absl::SleepFor(absl::Milliseconds(500));
  load.Stop();
  std::fprintf(stderr,
               "whole cluster %s: %zu writes acknowledged before; writes again %lld ms after the "
               "restart began (leader %s)\n",
               kill ? "killed" : "stopped", acked_before,
               static_cast<long long>((first_ack - restart_at) / 1000), leader->name().c_str());
  VerifyHistory(load.acked(), "cluster restart");
}

}  // namespace
}  // namespace kv::testing

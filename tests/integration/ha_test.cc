// Central nodes with standbys (docs/ha.md), tested with real processes: a real etcd (Debian's
// etcd-server) and three `kvd central --ha-etcd` nodes on loopback. One is elected leader, the
// others follow it as standbys; writes sent to a standby are forwarded; the leader is killed
// with SIGKILL under a write load and a standby takes over within the lease TTL plus a second,
// with every acknowledged write still there and every node converging.
//
// KV_HA_ROUNDS (default 2) sets how many leaders the kill test kills; tests/soak.sh runs 20.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "ha/testing/etcd_process.h"
#include "tests/support/kvd_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"

namespace kv::testing {
namespace {

using kvstore::v1::GetRequest;
using kvstore::v1::GetResponse;
using kvstore::v1::PutRequest;
using kvstore::v1::PutResponse;

class HaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status started = etcd_.Start();
    ASSERT_TRUE(started.ok()) << started << "\n" << etcd_.ReadLog();
  }

  void TearDown() override {
    if (HasFailure()) {
      for (auto& node : nodes_) {
        std::fprintf(stderr, "==== %s ====\n%s\n", node->name().c_str(), node->ReadLog().c_str());
      }
    }
    nodes_.clear();
  }

  KvdProcess* StartCentral(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"central",        "--node-id",      name,
                                     "--data-dir",     dir_.Sub(name),   "--ha-etcd",
                                     etcd_.endpoint(), "--ha-cluster",   "test",
                                     "--ha-lease-ttl", "2s",             "--ha-standby-timeout",
                                     "1s"};
    args.insert(args.end(), extra.begin(), extra.end());
    nodes_.push_back(std::make_unique<KvdProcess>(name, args, dir_.path()));
    KvdProcess* node = nodes_.back().get();
    absl::Status s = node->Start();
    EXPECT_TRUE(s.ok()) << s;
    return node;
  }

  static std::string Role(KvdProcess* node) {
    if (!node->running()) return "down";
    auto status = node->Status();
    return status.ok() ? status->ha_role() : "unreachable";
  }

  // The one running node that says it leads while every other running node is a standby of
  // it, or null.
  KvdProcess* SettledLeader() {
    KvdProcess* leader = nullptr;
    for (auto& node : nodes_) {
      if (!node->running()) continue;
      auto status = node->Status();
      if (!status.ok()) return nullptr;
      if (status->ha_role() == "leader") {
        if (leader != nullptr) return nullptr;
        leader = node.get();
      } else if (status->ha_role() != "standby") {
        return nullptr;
      }
    }
    if (leader == nullptr) return nullptr;
    for (auto& node : nodes_) {
      if (!node->running() || node.get() == leader) continue;
      auto status = node->Status();
      if (!status.ok() || status->ha_leader() != leader->address()) return nullptr;
    }
    return leader;
  }

  KvdProcess* WaitSettledLeader(absl::Duration timeout = absl::Seconds(30)) {
    KvdProcess* leader = nullptr;
    WaitFor([&] { return (leader = SettledLeader()) != nullptr; }, timeout,
            absl::Milliseconds(50));
    return leader;
  }

  static uint64_t Head(KvdProcess* node) {
    auto status = node->Status();
    return status.ok() ? status->head_version() : 0;
  }

  static grpc::Status Put(KvdProcess* node, const std::string& key, const std::string& value,
                          PutResponse* response, absl::Duration timeout = absl::Seconds(5)) {
    auto stub = node->KvStub();
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    PutRequest request;
    request.set_key(key);
    request.set_value(value);
    return stub->Put(&ctx, request, response);
  }

  ha::testing::EtcdProcess etcd_;
  TempDir dir_;
  std::vector<std::unique_ptr<KvdProcess>> nodes_;
};

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
}

TEST_F(HaTest, KillingTheLeaderUnderLoadLosesNoAcknowledgedWrite) {
  int rounds = 2;
  if (const char* env = std::getenv("KV_HA_ROUNDS")) rounds = std::max(1, std::atoi(env));
  StartCentral("c1");
  StartCentral("c2");
  StartCentral("c3");
  ASSERT_NE(WaitSettledLeader(), nullptr);

  // Writers send each write to the node they believe leads (any node would forward it), and
  // remember every acknowledged one. A failed write is given up (its outcome may be unknown);
  // the next uses a new key.
  absl::Mutex mu;
  std::map<std::string, uint64_t> acked;  // key -> version
  int64_t last_ack_micros = 0;
  std::vector<std::pair<int64_t, int64_t>> gaps;  // (kill time, first ack after it)
  int64_t killed_at = 0;
  std::atomic<bool> stop{false};
  std::atomic<KvdProcess*> target{SettledLeader()};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        KvdProcess* node = target.load();
        std::string key = absl::StrCat("w", w, "/", i);
        PutResponse response;
        if (node == nullptr || !node->running()) {
          absl::SleepFor(absl::Milliseconds(20));
          continue;
        }
        grpc::Status s = Put(node, key, absl::StrCat("v", i), &response, absl::Seconds(2));
        if (!s.ok()) {
          absl::SleepFor(absl::Milliseconds(20));
          continue;
        }
        absl::MutexLock l(&mu);
        acked[key] = response.version();
        int64_t now = absl::ToUnixMicros(absl::Now());
        if (killed_at != 0) {
          gaps.emplace_back(killed_at, now);
          killed_at = 0;
        }
        last_ack_micros = now;
      }
    });
  }

  for (int round = 0; round < rounds; ++round) {
    absl::SleepFor(absl::Seconds(1));
    KvdProcess* leader = SettledLeader();
    ASSERT_NE(leader, nullptr) << "round " << round << ": no settled leader";
    {
      absl::MutexLock l(&mu);
      ASSERT_GT(acked.size(), 0u);
      killed_at = absl::ToUnixMicros(absl::Now());
    }
    leader->Kill();
    KvdProcess* next = nullptr;
    ASSERT_TRUE(WaitFor(
        [&] {
          for (auto& node : nodes_) {
            if (node->running() && Role(node.get()) == "leader") next = node.get();
          }
          return next != nullptr;
        },
        absl::Seconds(15), absl::Milliseconds(20)))
        << "round " << round << ": no new leader";
    target.store(next);
    ASSERT_TRUE(WaitFor(
        [&] {
          absl::MutexLock l(&mu);
          return killed_at == 0;
        },
        absl::Seconds(15)))
        << "round " << round << ": no write acknowledged after the kill";
    // The killed node comes back and rejoins as a standby.
    absl::Status restarted = leader->Start();
    ASSERT_TRUE(restarted.ok()) << restarted;
    ASSERT_NE(WaitSettledLeader(), nullptr) << "round " << round << ": the cluster did not settle";
  }
  absl::SleepFor(absl::Milliseconds(500));
  stop.store(true);
  for (auto& t : writers) t.join();

  KvdProcess* leader = WaitSettledLeader();
  ASSERT_NE(leader, nullptr);
  uint64_t head = Head(leader);
  for (auto& node : nodes_) {
    EXPECT_TRUE(WaitFor([&] { return Head(node.get()) == head; }, absl::Seconds(20)))
        << node->name() << " at " << Head(node.get()) << ", leader at " << head;
  }
  // Every acknowledged write is at every node, at the version it was acknowledged with.
  for (auto& node : nodes_) {
    auto stub = node->KvStub();
    size_t missing = 0;
    for (const auto& [key, version] : acked) {
      grpc::ClientContext ctx;
      GetRequest get;
      get.set_key(key);
      GetResponse got;
      grpc::Status s = stub->Get(&ctx, get, &got);
      if (!s.ok() || !got.found() || got.entry().version() != version) {
        if (++missing <= 5) {
          ADD_FAILURE() << node->name() << ": acknowledged " << key << " at version " << version
                        << " reads " << (s.ok() ? (got.found() ? absl::StrCat("version ", got.entry().version()) : "absent") : s.error_message());
        }
      }
    }
    EXPECT_EQ(missing, 0u) << node->name() << " lost acknowledged writes";
  }
  std::vector<int64_t> gap_ms;
  for (auto [kill, ack] : gaps) gap_ms.push_back((ack - kill) / 1000);
  std::sort(gap_ms.begin(), gap_ms.end());
  std::string report;
  for (int64_t g : gap_ms) absl::StrAppend(&report, g, " ");
  std::fprintf(stderr, "HA kill test: %d rounds, %zu acknowledged writes, write gaps (ms): %s\n",
               rounds, acked.size(), report.c_str());
  ASSERT_EQ(gap_ms.size(), static_cast<size_t>(rounds));
  // --ha-lease-ttl 2s: a new leader takes writes within the TTL plus a second (issue 17), plus
  // the writer's own 2 s timeout on the write in flight at the kill.
  EXPECT_LE(gap_ms.back(), 5000);
}

}  // namespace
}  // namespace kv::testing

#pragma once
// The fixture of the HA tests (docs/ha.md): a real etcd, `kvd central --ha-etcd` nodes and edges
// following all of them (`--upstream A,B,C`), a write load that records every acknowledged write
// (key, version, which node answered, when it was sent and answered), and the checks every
// scenario ends with: every node converges to the leader's head, every acknowledged write is at
// every node at its version, no two acknowledged writes share a version, and no acknowledged
// write has a version below one acknowledged before it was sent (real-time order).
//
// KV_HA_SEED (default random, printed) drives the write mix, the moments faults strike and which
// variant of a fault is used.
//
// Threading: the fixture belongs to the test's thread; WriteLoad's methods are thread-safe.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "ha/testing/etcd_process.h"
#include "tests/support/kvd_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"

namespace kv::testing {

// One acknowledged write.
struct AckedWrite {
  std::string key;
  uint64_t version = 0;
  // The node the write was sent to (it answered; a standby forwards to the leader).
  std::string node;
  int64_t sent_micros = 0;
  int64_t acked_micros = 0;
};

// Writers that each send writes to the node `pick` names (called per write with the writer's
// index and a random number), each write to a new key with a value of a seeded size, and
// remember every acknowledged one. A failed write is given up (its outcome may be unknown).
class WriteLoad {
 public:
  using Pick = std::function<KvdProcess*(int writer, uint64_t random)>;

  WriteLoad(int writers, uint64_t seed, Pick pick) : pick_(std::move(pick)) {
    for (int w = 0; w < writers; ++w) {
      threads_.emplace_back([this, w, seed] { Run(w, seed); });
    }
  }
  ~WriteLoad() { Stop(); }

  void Stop() {
    stop_.store(true);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  std::vector<AckedWrite> acked() const {
    absl::MutexLock l(&mu_);
    return acked_;
  }
  size_t count() const {
    absl::MutexLock l(&mu_);
    return acked_.size();
  }
  // Acknowledged writes sent after `micros`.
  size_t CountSentAfter(int64_t micros) const {
    absl::MutexLock l(&mu_);
    return std::count_if(acked_.begin(), acked_.end(),
                         [&](const AckedWrite& a) { return a.sent_micros > micros; });
  }
  int64_t last_ack_micros() const {
    absl::MutexLock l(&mu_);
    return acked_.empty() ? 0 : acked_.back().acked_micros;
  }
  // Waits until a write sent after `micros` is acknowledged; returns its ack time, or 0.
  int64_t WaitAckSentAfter(int64_t micros, absl::Duration timeout) const {
    int64_t first = 0;
    WaitFor(
        [&] {
          absl::MutexLock l(&mu_);
          for (const auto& a : acked_) {
            if (a.sent_micros > micros && (first == 0 || a.acked_micros < first)) {
              first = a.acked_micros;
            }
          }
          return first != 0;
        },
        timeout, absl::Milliseconds(10));
    return first;
  }

 private:
  void Run(int w, uint64_t seed) {
    std::mt19937_64 rng(seed * 7919 + w);
    for (int i = 0; !stop_.load(); ++i) {
      KvdProcess* node = pick_(w, rng());
      if (node == nullptr || !node->running()) {
        absl::SleepFor(absl::Milliseconds(20));
        continue;
      }
      const std::string key = absl::StrCat("w", w, "/", i);
      // Mostly small values, some of a few KiB.
      const size_t size = rng() % 8 == 0 ? 1000 + rng() % 4000 : 1 + rng() % 64;
      const std::string value(size, static_cast<char>('a' + i % 26));
      auto stub = node->KvStub();
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
      kvstore::v1::PutRequest request;
      request.set_key(key);
      request.set_value(value);
      kvstore::v1::PutResponse response;
      const int64_t sent = absl::ToUnixMicros(absl::Now());
      grpc::Status s = stub->Put(&ctx, request, &response);
      const int64_t done = absl::ToUnixMicros(absl::Now());
      if (!s.ok()) {
        absl::SleepFor(absl::Milliseconds(20));
        continue;
      }
      absl::MutexLock l(&mu_);
      acked_.push_back({key, response.version(), node->name(), sent, done});
    }
  }

  const Pick pick_;
  mutable absl::Mutex mu_;
  std::vector<AckedWrite> acked_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// Nearest-rank percentile of sorted values.
inline int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(p / 100.0 * sorted.size() + 0.999999);
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

class HaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* env = std::getenv("KV_HA_SEED"); env != nullptr && *env != '\0') {
      seed_ = std::strtoull(env, nullptr, 10);
    } else {
      seed_ = std::random_device()() % 1000000 + 1;
    }
    std::fprintf(stderr, "KV_HA_SEED=%llu\n", static_cast<unsigned long long>(seed_));
    rng_.seed(seed_);
    absl::Status started = etcd_.Start();
    ASSERT_TRUE(started.ok()) << started << "\n" << etcd_.ReadLog();
  }

  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "reproduce: KV_HA_SEED=%llu\n", static_cast<unsigned long long>(seed_));
      // A node that does not answer its status is hung: keep its threads' stacks.
      for (auto& node : nodes_) {
        if (!node->running() || node->Status().ok()) continue;
        const std::string file =
            absl::StrCat("/tmp/kv-ha-stacks-", node->name(), "-", node->pid(), ".txt");
        const std::string command = absl::StrCat(
            "gdb -p ", node->pid(), " -batch -ex 'thread apply all bt' >", file, " 2>&1");
        if (std::system(command.c_str()) == 0) {
          std::fprintf(stderr, "%s does not answer; its stacks: %s\n", node->name().c_str(),
                       file.c_str());
        }
      }
      for (auto* list : {&nodes_, &edges_}) {
        for (auto& node : *list) {
          std::fprintf(stderr, "==== %s ====\n%s\n", node->name().c_str(), node->ReadLog().c_str());
        }
      }
    }
    edges_.clear();
    nodes_.clear();
  }

  // A central node in cluster "test"; `etcd` replaces the etcd endpoint it is given (a proxy).
  KvdProcess* StartCentral(const std::string& name, std::vector<std::string> extra = {},
                           const std::string& etcd = "") {
    std::vector<std::string> args = {"central",
                                     "--node-id",
                                     name,
                                     "--data-dir",
                                     dir_.Sub(name),
                                     "--ha-etcd",
                                     etcd.empty() ? etcd_.endpoint() : etcd,
                                     "--ha-cluster",
                                     "test",
                                     "--ha-lease-ttl",
                                     "2s",
                                     "--ha-standby-timeout",
                                     "1s"};
    args.insert(args.end(), extra.begin(), extra.end());
    nodes_.push_back(std::make_unique<KvdProcess>(name, args, dir_.path()));
    KvdProcess* node = nodes_.back().get();
    absl::Status s = node->Start();
    EXPECT_TRUE(s.ok()) << s;
    return node;
  }

  // Three central nodes c1..c3 with a settled leader, then a full and a cache edge following
  // them all ("edge-full", "edge-cache"). Fails the test (check HasFailure) if any step fails.
  void StartThreeCentralsAndTwoEdges() {
    StartCentral("c1");
    StartCentral("c2");
    StartCentral("c3");
    ASSERT_NE(WaitSettledLeader(), nullptr) << Roles();
    StartEdge("edge-full", "full");
    StartEdge("edge-cache", "cache");
  }

  // An edge of `mode` ("full" or "cache") whose upstream is every central node started so far.
  KvdProcess* StartEdge(const std::string& name, const std::string& mode) {
    std::vector<std::string> upstreams;
    for (auto& node : nodes_) upstreams.push_back(node->address());
    std::vector<std::string> args = {"edge",
                                     "--mode",
                                     mode,
                                     "--upstream",
                                     absl::StrJoin(upstreams, ","),
                                     "--data-dir",
                                     dir_.Sub(name),
                                     "--node-id",
                                     name,
                                     "--max-staleness",
                                     "1s",
                                     "--upstream-timeout",
                                     "1s"};
    edges_.push_back(std::make_unique<KvdProcess>(name, args, dir_.path()));
    KvdProcess* edge = edges_.back().get();
    absl::Status s = edge->Start();
    EXPECT_TRUE(s.ok()) << s;
    return edge;
  }

  KvdProcess* Central(const std::string& name) {
    for (auto& node : nodes_) {
      if (node->name() == name) return node.get();
    }
    return nullptr;
  }

  static std::string Role(KvdProcess* node) {
    if (!node->running()) return "down";
    auto status = node->Status();
    return status.ok() ? status->ha_role()
                       : absl::StrCat("unreachable (", status.status().message(), ")");
  }

  std::string Roles() {
    std::string roles;
    for (auto& node : nodes_) absl::StrAppend(&roles, node->name(), "=", Role(node.get()), " ");
    return roles;
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
    WaitFor([&] { return (leader = SettledLeader()) != nullptr; }, timeout, absl::Milliseconds(50));
    return leader;
  }

  // Any running node (other than `except`) that says it leads, or null.
  KvdProcess* AnyLeader(KvdProcess* except = nullptr) {
    for (auto& node : nodes_) {
      if (node.get() != except && node->running() && Role(node.get()) == "leader") {
        return node.get();
      }
    }
    return nullptr;
  }

  static std::vector<std::string> InSync(KvdProcess* leader) {
    auto status = leader->Status();
    if (!status.ok()) return {};
    return {status->ha_in_sync().begin(), status->ha_in_sync().end()};
  }

  bool WaitInSync(KvdProcess* leader, size_t members, absl::Duration timeout = absl::Seconds(20)) {
    return WaitFor([&] { return InSync(leader).size() >= members; }, timeout);
  }

  static uint64_t Head(KvdProcess* node) {
    auto status = node->Status();
    return status.ok() ? status->head_version() : 0;
  }

  // Every running central node and edge reaches the settled leader's head. The head may still
  // move after a load stops (the expiry sweep deletes the checker workload's 1 s keys), so
  // this waits for a moment when every node is at the leader's head as it stands then.
  void ExpectConverged() {
    KvdProcess* leader = WaitSettledLeader();
    ASSERT_NE(leader, nullptr) << "no settled leader: " << Roles();
    uint64_t head = 0;
    std::string behind;
    const bool converged = WaitFor(
        [&] {
          head = Head(leader);
          behind.clear();
          for (auto* list : {&nodes_, &edges_}) {
            for (auto& node : *list) {
              if (!node->running()) continue;
              if (uint64_t at = Head(node.get()); at != head) {
                absl::StrAppend(&behind, node->name(), " at ", at, " ");
              }
            }
          }
          // Head() is 0 when a node cannot be asked: that is not convergence.
          return head > 0 && behind.empty() && Head(leader) == head;
        },
        absl::Seconds(30));
    EXPECT_TRUE(converged) << "leader at " << head << "; " << behind;
  }

  // Every acknowledged write reads back at every running node (central nodes and edges) at the
  // version it was acknowledged with.
  void ExpectAllAckedEverywhere(const std::vector<AckedWrite>& acked) {
    uint64_t head = 0;
    if (KvdProcess* leader = SettledLeader()) head = Head(leader);
    for (auto* list : {&nodes_, &edges_}) {
      for (auto& node : *list) {
        if (!node->running()) continue;
        auto stub = node->KvStub();
        size_t missing = 0;
        for (const auto& write : acked) {
          grpc::ClientContext ctx;
          ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
          kvstore::v1::GetRequest get;
          get.set_key(write.key);
          get.mutable_options()->set_min_version(head);
          kvstore::v1::GetResponse got;
          grpc::Status s = stub->Get(&ctx, get, &got);
          if (!s.ok() || !got.found() || got.entry().version() != write.version) {
            if (++missing <= 5) {
              ADD_FAILURE() << node->name() << ": acknowledged " << write.key << " at version "
                            << write.version << " (by " << write.node << ") reads "
                            << (s.ok()
                                    ? (got.found() ? absl::StrCat("version ", got.entry().version())
                                                   : "absent")
                                    : s.error_message());
            }
          }
        }
        EXPECT_EQ(missing, 0u) << node->name() << " lost " << missing << " of " << acked.size()
                               << " acknowledged writes";
      }
    }
  }

  // Two writes acknowledged with one version, or a write acknowledged with a version below one
  // acknowledged before it was even sent, are violations (a second leader, or a lost order).
  static size_t CountOrderViolations(std::vector<AckedWrite> acked) {
    size_t violations = 0;
    std::map<uint64_t, std::string> by_version;
    for (const auto& write : acked) {
      auto [it, inserted] = by_version.emplace(write.version, write.key);
      if (!inserted) {
        if (++violations <= 5) {
          ADD_FAILURE() << "version " << write.version << " acknowledged for " << it->second
                        << " and " << write.key;
        }
      }
    }
    std::vector<const AckedWrite*> by_ack;
    for (const auto& write : acked) by_ack.push_back(&write);
    std::sort(by_ack.begin(), by_ack.end(), [](const AckedWrite* a, const AckedWrite* b) {
      return a->acked_micros < b->acked_micros;
    });
    std::vector<const AckedWrite*> by_send = by_ack;
    std::sort(by_send.begin(), by_send.end(), [](const AckedWrite* a, const AckedWrite* b) {
      return a->sent_micros < b->sent_micros;
    });
    // Sweep sends in time order, folding in every ack that came before the send.
    size_t next_ack = 0;
    const AckedWrite* highest = nullptr;
    for (const AckedWrite* write : by_send) {
      while (next_ack < by_ack.size() && by_ack[next_ack]->acked_micros < write->sent_micros) {
        if (highest == nullptr || by_ack[next_ack]->version > highest->version) {
          highest = by_ack[next_ack];
        }
        ++next_ack;
      }
      if (highest != nullptr && write->version < highest->version) {
        if (++violations <= 10) {
          ADD_FAILURE() << write->key << " (sent to " << write->node << ") acknowledged at version "
                        << write->version << " though " << highest->key << " was acknowledged at "
                        << highest->version << " by " << highest->node << " "
                        << (write->sent_micros - highest->acked_micros) << " us before it was sent";
        }
      }
    }
    return violations;
  }

  // The whole final check: convergence, no acknowledged write lost, no order violation.
  void VerifyHistory(const std::vector<AckedWrite>& acked, const std::string& what) {
    ASSERT_NO_FATAL_FAILURE(ExpectConverged());
    ExpectAllAckedEverywhere(acked);
    const size_t violations = CountOrderViolations(acked);
    EXPECT_EQ(violations, 0u);
    std::fprintf(stderr, "%s: seed %llu, %zu acknowledged writes, %zu violations\n", what.c_str(),
                 static_cast<unsigned long long>(seed_), acked.size(), violations);
  }

  absl::Duration RandomMillis(int lo, int hi) {
    return absl::Milliseconds(lo + static_cast<int>(rng_() % (hi - lo + 1)));
  }

  uint64_t seed_ = 1;
  std::mt19937_64 rng_;
  ha::testing::EtcdProcess etcd_;
  TempDir dir_;
  std::vector<std::unique_ptr<KvdProcess>> nodes_;
  std::vector<std::unique_ptr<KvdProcess>> edges_;
};

}  // namespace kv::testing

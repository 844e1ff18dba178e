// The leader's in-sync set (SyncStandbys): a batch is acknowledged only once every member holds
// it, a standby joins only when it holds everything proposed, and one that falls behind leaves
// etcd's record before it stops being waited for. `persist` stands in for etcd and can fail.

#include "server/ha/sync_standbys.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "tests/support/wait_for.h"

namespace kv::server {
namespace {

using replication::StandbyAck;

class SyncStandbysTest : public ::testing::Test {
 protected:
  std::unique_ptr<SyncStandbys> Make(std::vector<std::string> recorded,
                                     std::vector<std::string> waited, int required = 1) {
    SyncStandbysOptions options;
    options.required = required;
    options.lag_timeout = absl::Seconds(1);
    options.persist = [this](const std::vector<std::string>& ids) {
      absl::MutexLock l(&mu_);
      if (fail_persist_) return absl::UnavailableError("etcd is down");
      persisted_.push_back(ids);
      return absl::OkStatus();
    };
    return std::make_unique<SyncStandbys>(&clock_, options, recorded, waited, /*head=*/0);
  }
  std::vector<std::vector<std::string>> persisted() {
    absl::MutexLock l(&mu_);
    return persisted_;
  }
  void FailPersist(bool fail) {
    absl::MutexLock l(&mu_);
    fail_persist_ = fail;
  }

  ManualClock clock_;
  absl::Mutex mu_;
  bool fail_persist_ = false;
  std::vector<std::vector<std::string>> persisted_;
};

// Waits for `version` on another thread; `done` tells when WaitFor returned. `started` when it
// has begun waiting (the lag clock starts then). A failed test still ends it (as a fence would).
struct Waiter {
  Waiter(
      SyncStandbys* sync, uint64_t version, std::function<bool()> fenced = [] { return false; })
      : thread([=, this] {
          status = sync->WaitFor(version, [&] {
            if (!started.HasBeenNotified()) started.Notify();
            return stop.load() || fenced();
          });
          done.Notify();
        }) {
    started.WaitForNotification();
  }
  ~Waiter() {
    stop.store(true);
    thread.join();
  }
  std::atomic<bool> stop{false};
  absl::Notification started;
  absl::Notification done;
  absl::Status status;
  std::thread thread;
};

TEST_F(SyncStandbysTest, ABatchIsAcknowledgedOnlyOnceEveryMemberHoldsIt) {
  auto sync = Make({"a", "b"}, {"a", "b"});
  ASSERT_TRUE(sync->Ready().ok());
  Waiter w(sync.get(), 5);
  sync->OnAck(StandbyAck{"a", 5, true, 1});
  sync->OnAck(StandbyAck{"b", 4, true, 1});
  EXPECT_FALSE(w.done.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  sync->OnAck(StandbyAck{"b", 5, true, 1});
  ASSERT_TRUE(w.done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(w.status.ok()) << w.status;
}

TEST_F(SyncStandbysTest, TooFewMembersRefusesBeforeProposingAndAStandbyThatHoldsEverythingJoins) {
  auto sync = Make({}, {});
  absl::Status ready = sync->Ready();
  EXPECT_TRUE(absl::IsUnavailable(ready)) << ready;
  EXPECT_NE(ready.message().find("needs 1 standby"), std::string::npos) << ready;
  // Behind what was proposed (nothing yet, head 0): a standby at 0 holds everything.
  sync->OnAck(StandbyAck{"a", 0, true, 1});
  // Waited for at once (Ready), recorded in etcd just after (by the set's own thread).
  ASSERT_TRUE(testing::WaitFor([&] { return sync->Ready().ok() && !persisted().empty(); },
                               absl::Seconds(5)));
  EXPECT_EQ(persisted().back(), std::vector<std::string>{"a"});
  EXPECT_EQ(sync->members(), std::vector<std::string>{"a"});
}

TEST_F(SyncStandbysTest, AStandbyBehindTheProposalsDoesNotJoin) {
  auto sync = Make({"a"}, {"a"});
  Waiter w(sync.get(), 10);
  sync->OnAck(StandbyAck{"a", 10, true, 1});
  ASSERT_TRUE(w.done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  sync->OnAck(StandbyAck{"b", 9, true, 1});  // misses version 10
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(sync->members(), std::vector<std::string>{"a"});
  sync->OnAck(StandbyAck{"b", 10, true, 1});
  EXPECT_TRUE(testing::WaitFor([&] { return sync->members().size() == 2; }, absl::Seconds(5)));
}

TEST_F(SyncStandbysTest, ALaggingMemberLeavesEtcdBeforeItStopsBeingWaitedFor) {
  auto sync = Make({"a", "b"}, {"a", "b"});
  sync->OnAck(StandbyAck{"a", 0, true, 1});
  sync->OnAck(StandbyAck{"b", 0, true, 1});
  Waiter w(sync.get(), 7);
  sync->OnAck(StandbyAck{"a", 7, true, 1});
  // b stays behind past --ha-standby-timeout, but etcd cannot be written: still waited for.
  FailPersist(true);
  clock_.AdvanceMicros(2'000'000);
  EXPECT_FALSE(w.done.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
  EXPECT_EQ(sync->members().size(), 2u);
  // Once etcd has the set without it, the batch is acknowledged without it.
  FailPersist(false);
  ASSERT_TRUE(w.done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(w.status.ok()) << w.status;
  EXPECT_EQ(persisted().back(), std::vector<std::string>{"a"});
}

TEST_F(SyncStandbysTest, ARecordedMemberThatIsNotWaitedForBlocksUntilEtcdForgetsIt) {
  // Elected after "old" led: etcd still names it, this leader does not wait for it.
  FailPersist(true);
  auto sync = Make({"a", "old"}, {"a"});
  sync->OnAck(StandbyAck{"a", 3, true, 1});
  Waiter w(sync.get(), 3);
  EXPECT_FALSE(w.done.WaitForNotificationWithTimeout(absl::Milliseconds(300)))
      << "acknowledged while etcd could still elect a node without the batch";
  FailPersist(false);
  ASSERT_TRUE(w.done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(persisted().back(), std::vector<std::string>{"a"});
}

TEST_F(SyncStandbysTest, AnOldStreamsEndDoesNotEndTheNewOneAndANewStreamStartsOver) {
  auto sync = Make({"a"}, {"a"});
  sync->OnAck(StandbyAck{"a", 5, true, 1});
  sync->OnAck(StandbyAck{"a", 2, true, 2});   // reconnected (after a snapshot): holds 2
  sync->OnAck(StandbyAck{"a", 5, false, 1});  // the old stream's end arrives late
  Waiter w(sync.get(), 5);
  EXPECT_FALSE(w.done.WaitForNotificationWithTimeout(absl::Milliseconds(200)))
      << "counted the old stream's acknowledgement";
  sync->OnAck(StandbyAck{"a", 5, true, 2});
  ASSERT_TRUE(w.done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(w.status.ok());
}

TEST_F(SyncStandbysTest, AFencedLeaderGivesUpWaiting) {
  auto sync = Make({"a"}, {"a"});
  std::atomic<bool> fenced{false};
  Waiter w(sync.get(), 4, [&] { return fenced.load(); });
  EXPECT_FALSE(w.done.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  fenced.store(true);
  ASSERT_TRUE(w.done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(absl::IsAborted(w.status)) << w.status;
}

}  // namespace
}  // namespace kv::server

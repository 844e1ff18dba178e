// The etcd client and the leader lease against a real etcd (Debian's etcd-server) on loopback:
// leases, conditional puts, the election service (one leader at a time, the next one elected
// when the first's lease ends), and the fence: a leader cut off from etcd stops trusting its
// lease before etcd can expire it and elect another.

#include "ha/leader_lease.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "ha/etcd_client.h"
#include "ha/testing/etcd_process.h"

namespace kv::ha {
namespace {

class EtcdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status started = etcd_.Start();
    ASSERT_TRUE(started.ok()) << started << "\n" << etcd_.ReadLog();
    client_ = Connect();
  }
  std::unique_ptr<EtcdClient> Connect() {
    auto c = EtcdClient::Connect({.endpoints = {etcd_.endpoint()}, .timeout = absl::Seconds(1)});
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }
  testing::EtcdProcess etcd_;
  std::unique_ptr<EtcdClient> client_;
};

TEST_F(EtcdTest, ConditionalPutsAndLeases) {
  auto put = client_->PutIf("ha/x", "1", /*expected_mod_revision=*/0);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(*put);
  auto again = client_->PutIf("ha/x", "2", 0);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again) << "only if absent";
  auto got = client_->Get("ha/x");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "1");
  auto swapped = client_->PutIf("ha/x", "3", (*got)->mod_revision);
  ASSERT_TRUE(swapped.ok());
  EXPECT_TRUE(*swapped);

  auto lease = client_->GrantLease(absl::Seconds(5));
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_TRUE(client_->PutIf("ha/leased", "v", 0, *lease).ok());
  auto ttl = client_->KeepAliveOnce(*lease);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, absl::Seconds(5));
  ASSERT_TRUE(client_->RevokeLease(*lease).ok());
  auto gone = client_->Get("ha/leased");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value()) << "a revoked lease takes its keys";
  auto expired = client_->KeepAliveOnce(*lease);
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kNotFound) << expired.status();
  auto listed = client_->GetPrefix("ha/");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "ha/x");
}

TEST_F(EtcdTest, OneLeaderAtATimeAndTheNextWhenItsLeaseEnds) {
  LeaderLease first(client_.get(), Clock::Real(), {.ttl = absl::Seconds(2)});
  ASSERT_TRUE(first.Start().ok());
  auto led = client_->Campaign("central", "node-a", first.lease_id(), absl::Seconds(5));
  ASSERT_TRUE(led.ok()) << led.status();
  EXPECT_TRUE(first.Trusted());
  auto leader = client_->Leader("central");
  ASSERT_TRUE(leader.ok() && leader->has_value()) << leader.status();
  EXPECT_EQ((*leader)->value, "node-a");

  // The second candidate waits while the first leads.
  auto second_client = Connect();
  LeaderLease second(second_client.get(), Clock::Real(), {.ttl = absl::Seconds(2)});
  ASSERT_TRUE(second.Start().ok());
  std::atomic<bool> second_led{false};
  absl::Notification done;
  std::thread campaign([&] {
    auto r = second_client->Campaign("central", "node-b", second.lease_id(), absl::Seconds(20));
    second_led = r.ok();
    done.Notify();
  });
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Seconds(3)))
      << "nobody else is elected while the leader's lease is kept alive";
  ASSERT_TRUE(client_->Proclaim(*led, "node-a v2").ok());
  EXPECT_EQ((*client_->Leader("central"))->value, "node-a v2");

  first.Stop(/*revoke=*/true);  // a clean handover
  EXPECT_FALSE(first.Trusted());
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  campaign.join();
  EXPECT_TRUE(second_led.load());
  EXPECT_EQ((*client_->Leader("central"))->value, "node-b");
  EXPECT_EQ(client_->Proclaim(*led, "stale").code(), absl::StatusCode::kFailedPrecondition)
      << "a deposed leader cannot speak for the election";
}

// The fence: with etcd frozen, the leader's trust ends at least the safety margin before the
// earliest time etcd could expire the lease (TTL after the last keep-alive it answered).
TEST_F(EtcdTest, ALeaderCutOffFromEtcdStopsTrustingBeforeTheLeaseCanExpire) {
  std::atomic<bool> lost{false};
  LeaderLease lease(client_.get(), Clock::Real(),
                    {.ttl = absl::Seconds(2),
                     .safety_margin = absl::Milliseconds(300),
                     .on_lost = [&](const std::string&) { lost = true; }});
  ASSERT_TRUE(lease.Start().ok());
  absl::SleepFor(absl::Milliseconds(1200));  // a few keep-alives answered
  ASSERT_TRUE(lease.Trusted());
  const int64_t frozen_at = Clock::Real()->MonotonicMicros();
  etcd_.Pause();
  // The last keep-alive etcd answered was sent no later than now, so etcd may expire the lease
  // from frozen_at + TTL on; trust must have ended before that.
  while (lease.Trusted() && Clock::Real()->MonotonicMicros() < frozen_at + 5'000'000) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  const int64_t untrusted_at = Clock::Real()->MonotonicMicros();
  EXPECT_FALSE(lease.Trusted());
  EXPECT_LE(untrusted_at, frozen_at + 2'000'000 - 250'000)
      << "trust lasted " << (untrusted_at - frozen_at) / 1000 << " ms after etcd froze";
  etcd_.Resume();
  for (int i = 0; i < 300 && !lost.load(); ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_TRUE(lost.load()) << "on_lost is called once trust has run out";
  lease.Stop(/*revoke=*/false);
}

}  // namespace
}  // namespace kv::ha

#include "replication/subscriber.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "replication/testing/fake_applier.h"
#include "replication/testing/fake_upstream.h"
#include "tests/support/wait_for.h"

namespace kv::replication {
namespace {

using kvstore::v1::SnapshotChunk;
using testing::FakeApplier;
using testing::FakeSubscribeCall;
using testing::FakeUpstream;

constexpr char kCluster[] = "fake";

using ::kv::testing::WaitFor;

// A snapshot chunk at `version` holding keys `keys`.
SnapshotChunk Chunk(uint64_t version, std::vector<std::string> keys, bool last,
                    const std::string& cluster = kCluster) {
  SnapshotChunk c;
  c.set_version(version);
  c.set_cluster_id(cluster);
  c.set_last(last);
  c.set_total_keys(3);
  for (const auto& k : keys) {
    auto* e = c.add_entries();
    e->set_key(k);
    e->set_value("snap-" + k);
    e->set_version(version);
  }
  return c;
}

// Holds a stream open: a start at `head`, then nothing until the downstream leaves.
grpc::Status HoldOpen(FakeSubscribeCall& call, uint64_t head, const std::string& cluster) {
  call.SendStart(head, cluster);
  call.WaitGone(absl::Seconds(30));
  return grpc::Status::OK;
}

// Scripts that end a call after sending something wait until the subscriber has taken it in:
// ending a call cancels it, and a cancellation may overtake messages still in flight.
class SubscriberTest : public ::testing::Test {
 protected:
  SubscriberTest() : stub_(upstream_.NewStub()) {}
  ~SubscriberTest() override {
    if (sub_) sub_->Stop();
  }

  SubscriberOptions Options() {
    SubscriberOptions o;
    o.node_id = "edge-1";
    o.advertised_address = "127.0.0.1:1";
    o.ping_interval = absl::Milliseconds(50);
    o.initial_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(200);
    o.on_applied = [this](uint64_t v) {
      absl::MutexLock l(&mu_);
      on_applied_.push_back(v);
    };
    return o;
  }
  void Start(FakeApplier::Options applier, SubscriberOptions options) {
    applier_ = std::make_unique<FakeApplier>(applier);
    StartSubscriber(options);
  }
  // A subscriber over applier_ as a full or a cache downstream, as the fake was configured.
  std::unique_ptr<Subscriber> NewSubscriber(kvstore::v1::Replication::Stub* stub,
                                            const std::string& address, SubscriberOptions options) {
    if (applier_->holds_everything()) {
      return std::make_unique<Subscriber>(stub, address, applier_.get(), applier_->snapshots(),
                                          &freshness_, Clock::Real(), options);
    }
    return std::make_unique<Subscriber>(stub, address, applier_.get(), applier_->head(),
                                        &freshness_, Clock::Real(), options);
  }
  void StartSubscriber(SubscriberOptions options) {
    sub_ = NewSubscriber(stub_.get(), upstream_.address(), options);
    sub_->Start();
  }
  void Start(FakeApplier::Options applier) { Start(std::move(applier), Options()); }
  std::vector<uint64_t> on_applied() {
    absl::MutexLock l(&mu_);
    return on_applied_;
  }
  // How long Stop() takes.
  absl::Duration TimeStop() {
    absl::Time t = absl::Now();
    sub_->Stop();
    return absl::Now() - t;
  }

  // Destroyed in reverse: the subscriber first, then the fake (whose scripts use the applier).
  absl::Mutex mu_;
  std::vector<uint64_t> on_applied_ ABSL_GUARDED_BY(mu_);
  FreshnessTracker freshness_{Clock::Real()};
  std::unique_ptr<FakeApplier> applier_;
  FakeUpstream upstream_;
  std::unique_ptr<kvstore::v1::Replication::Stub> stub_;
  std::unique_ptr<Subscriber> sub_;
};

TEST_F(SubscriberTest, ResubscribesAfterAGapFromTheVersionAfterTheAppliedOne) {
  std::atomic<bool> first_left{false};
  upstream_.OnSubscribe([&](FakeSubscribeCall& call) {
    if (call.index() == 0) {
      call.SendStart(10, kCluster);
      call.SendPuts(1, 3);
      call.SendPuts(5, 6);  // 4 is missing
      first_left = call.WaitGone(absl::Seconds(5));
      return grpc::Status::OK;
    }
    call.SendStart(10, kCluster);
    call.SendPuts(call.hello().from_version(), 10);
    call.WaitGone(absl::Seconds(30));
    return grpc::Status::OK;
  });
  Start(FakeApplier::Options().set_cluster_id(kCluster));
  ASSERT_TRUE(applier_->WaitApplied(10, absl::Seconds(10)));
  auto hellos = upstream_.hellos();
  ASSERT_GE(hellos.size(), 2u);
  EXPECT_EQ(hellos[0].hello.from_version(), 1u);
  EXPECT_EQ(hellos[0].hello.cluster_id(), kCluster);
  EXPECT_EQ(hellos[0].hello.node_id(), "edge-1");
  EXPECT_EQ(hellos[0].hello.mode(), "full");
  EXPECT_EQ(hellos[1].hello.from_version(), 4u);
  EXPECT_EQ(hellos[1].hello.cluster_id(), kCluster);
  EXPECT_TRUE(WaitFor([&] { return first_left.load(); }, absl::Seconds(5)))
      << "the subscriber kept the broken stream open";
  EXPECT_EQ(sub_->gaps(), 1u);
  EXPECT_EQ(applier_->out_of_order(), 0);
  std::vector<uint64_t> expected(10);
  for (int i = 0; i < 10; ++i) expected[i] = i + 1;
  EXPECT_EQ(applier_->versions(), expected);
  // on_applied runs right after the batch is applied, on the subscriber's thread.
  EXPECT_TRUE(WaitFor([&] { return !on_applied().empty() && on_applied().back() == 10u; }));
}

TEST_F(SubscriberTest, AnApplierFailureResubscribesFromTheSameVersion) {
  upstream_.OnSubscribe([&](FakeSubscribeCall& call) {
    call.SendStart(5, kCluster);
    call.SendPuts(call.hello().from_version(), 5);
    call.WaitGone(absl::Seconds(30));
    return grpc::Status::OK;
  });
  applier_ = std::make_unique<FakeApplier>(FakeApplier::Options().set_cluster_id(kCluster));
  applier_->FailNextApply(absl::InternalError("disk full"));
  StartSubscriber(Options());
  ASSERT_TRUE(applier_->WaitApplied(5, absl::Seconds(10)));
  auto hellos = upstream_.hellos();
  ASSERT_EQ(hellos.size(), 2u);
  for (const auto& h : hellos) EXPECT_EQ(h.hello.from_version(), 1u);
  EXPECT_EQ(sub_->gaps(), 0u);
  EXPECT_EQ(applier_->versions().size(), 5u);
}

TEST_F(SubscriberTest, BackoffBetweenReconnectsGrowsAndIsJittered) {
  upstream_.OnSubscribe(
      [](FakeSubscribeCall&) { return grpc::Status(grpc::StatusCode::UNAVAILABLE, "go away"); });
  SubscriberOptions o = Options();
  o.initial_backoff = absl::Milliseconds(100);
  o.max_backoff = absl::Milliseconds(400);
  Start(FakeApplier::Options().set_cluster_id(kCluster), o);
  constexpr int kHellos = 8;
  ASSERT_TRUE(upstream_.WaitHellos(kHellos, absl::Seconds(15)));
  auto hellos = upstream_.hellos();
  std::vector<double> ratios;
  for (int k = 0; k + 1 < kHellos; ++k) {
    double nominal = std::min(100.0 * (1 << k), 400.0);
    double ms = absl::ToDoubleMilliseconds(hellos[k + 1].at - hellos[k].at);
    // Jitter is [0.5, 1.5) x the nominal backoff; allow the reconnect's own latency on top.
    EXPECT_GE(ms, 0.5 * nominal - 2) << "interval " << k;
    EXPECT_LE(ms, 1.5 * nominal + 150) << "interval " << k;
    ratios.push_back(ms / nominal);
  }
  auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
  EXPECT_GT(*hi - *lo, 0.1) << "intervals follow the nominal backoff exactly: no jitter";
  kvstore::v1::ReplicationStatus status;
  sub_->FillStatus(&status);
  EXPECT_GE(status.reconnects(), static_cast<uint64_t>(kHellos - 1));
  EXPECT_NE(status.last_error(), "");
  EXPECT_FALSE(sub_->connected());
}

TEST_F(SubscriberTest, BackoffStartsOverAfterProgress) {
  upstream_.OnSubscribe([this](FakeSubscribeCall& call) {
    if (call.index() == 4) {
      call.SendStart(2, kCluster);
      call.SendPuts(1, 2);
      applier_->WaitApplied(2, absl::Seconds(5));
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "go away");
  });
  SubscriberOptions o = Options();
  o.initial_backoff = absl::Milliseconds(40);
  o.max_backoff = absl::Seconds(5);
  Start(FakeApplier::Options().set_cluster_id(kCluster), o);
  // Four failures grow the backoff to 640 ms nominal; the fifth call applies something.
  ASSERT_TRUE(upstream_.WaitHellos(6, absl::Seconds(10)));
  auto hellos = upstream_.hellos();
  absl::Duration grown = hellos[4].at - hellos[3].at;  // nominal 320 ms
  absl::Duration after = hellos[5].at - hellos[4].at;  // nominal 40 ms again
  EXPECT_GE(grown, absl::Milliseconds(150));
  EXPECT_LT(after, absl::Milliseconds(200));
  EXPECT_EQ(applier_->applied_version(), 2u);
}

TEST_F(SubscriberTest, AFullEdgeTakesASnapshotAfterReset) {
  std::atomic<int> finished_before_snapshot{-1};
  upstream_.OnSubscribe([&](FakeSubscribeCall& call) {
    if (call.index() == 0) {
      call.SendStart(5, kCluster);
      call.SendReset("version 6 is no longer in the change log");
      call.WaitGone(absl::Seconds(5));
      return grpc::Status::OK;
    }
    return HoldOpen(call, 100, "cluster-2");
  });
  upstream_.OnSnapshot([&](int, grpc::ServerContext*, grpc::ServerWriter<SnapshotChunk>* w) {
    finished_before_snapshot = applier_->finish_snapshots();
    w->Write(Chunk(100, {"a", "b"}, false, "cluster-2"));
    w->Write(Chunk(100, {"c"}, true, "cluster-2"));
    return grpc::Status::OK;
  });
  // The snapshot is another cluster's: allowed here (refused without the flag, see below).
  SubscriberOptions options = Options();
  options.allow_cluster_change = true;
  Start(FakeApplier::Options().set_applied(5).set_cluster_id(kCluster), options);
  ASSERT_TRUE(upstream_.WaitHellos(2, absl::Seconds(10)));
  auto hellos = upstream_.hellos();
  EXPECT_EQ(hellos[0].hello.from_version(), 6u);
  EXPECT_EQ(hellos[1].hello.from_version(), 101u);
  EXPECT_EQ(hellos[1].hello.cluster_id(), "cluster-2");
  EXPECT_EQ(upstream_.snapshot_calls(), 1);
  EXPECT_EQ(finished_before_snapshot.load(), 0);
  EXPECT_EQ(applier_->begin_snapshots(), 1);
  EXPECT_EQ(applier_->finish_snapshots(), 1);
  EXPECT_EQ(applier_->applied_version(), 100u);
  EXPECT_EQ(applier_->data().size(), 3u);
  EXPECT_TRUE(applier_->start_froms().empty());
  EXPECT_EQ(sub_->resets(), 1u);
  EXPECT_EQ(sub_->snapshots(), 1u);
  EXPECT_EQ(sub_->gaps(), 0u);
  auto applied = on_applied();
  EXPECT_NE(std::find(applied.begin(), applied.end(), 100u), applied.end());
}

// An upstream of another cluster never replaces the local data on its own: its RESET is refused
// (no snapshot, no start at the head) and the error names both clusters and the flag.
class ClusterChangeTest : public SubscriberTest {
 protected:
  void ExpectResetRefused(bool full) {
    upstream_.OnSubscribe([&](FakeSubscribeCall& call) {
      call.SendReset("the downstream's data is from cluster mine");  // the fake's: "fake"
      call.WaitGone(absl::Seconds(5));
      return grpc::Status::OK;
    });
    upstream_.OnSnapshot([&](int, grpc::ServerContext*, grpc::ServerWriter<SnapshotChunk>* w) {
      w->Write(Chunk(100, {"a"}, true, kCluster));
      return grpc::Status::OK;
    });
    Start(FakeApplier::Options().set_holds_everything(full).set_applied(5).set_cluster_id("mine"));
    ASSERT_TRUE(WaitFor([&] { return absl::StrContains(sub_->last_error(), "cluster mismatch"); },
                        absl::Seconds(10)))
        << sub_->last_error();
    ASSERT_TRUE(upstream_.WaitHellos(3, absl::Seconds(10)));  // it keeps trying, refused each time
    EXPECT_THAT(sub_->last_error(), ::testing::HasSubstr("holds data of cluster mine"));
    EXPECT_THAT(sub_->last_error(), ::testing::HasSubstr("serves cluster fake"));
    EXPECT_THAT(sub_->last_error(), ::testing::HasSubstr("--allow-cluster-change"));
    for (const auto& h : upstream_.hellos()) {
      EXPECT_EQ(h.hello.from_version(), 6u);  // never from the head
    }
    sub_->Stop();
    EXPECT_EQ(sub_->resets(), 0u);
    EXPECT_EQ(upstream_.snapshot_calls(), 0);
    EXPECT_EQ(applier_->begin_snapshots(), 0);
    EXPECT_TRUE(applier_->start_froms().empty());
    EXPECT_EQ(applier_->cluster_id(), "mine");
    EXPECT_EQ(applier_->applied_version(), 5u);
  }
};

TEST_F(ClusterChangeTest, AFullEdgeRefusesAResetIntoAnotherCluster) { ExpectResetRefused(true); }
TEST_F(ClusterChangeTest, ACacheEdgeRefusesAResetIntoAnotherCluster) { ExpectResetRefused(false); }

// A full edge whose bootstrap was interrupted still names its cluster: a snapshot of another
// cluster is refused before anything is wiped.
TEST_F(SubscriberTest, ASnapshotOfAnotherClusterIsRefusedBeforeAnythingIsWiped) {
  upstream_.OnSnapshot([&](int, grpc::ServerContext*, grpc::ServerWriter<SnapshotChunk>* w) {
    w->Write(Chunk(100, {"a"}, true, "cluster-2"));
    return grpc::Status::OK;
  });
  Start(FakeApplier::Options().set_applied(5).set_cluster_id(kCluster).set_needs_bootstrap(true));
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains(sub_->last_error(), "cluster mismatch"); },
                      absl::Seconds(10)))
      << sub_->last_error();
  sub_->Stop();
  EXPECT_GE(upstream_.snapshot_calls(), 1);
  EXPECT_EQ(applier_->begin_snapshots(), 0);
  EXPECT_EQ(applier_->cluster_id(), kCluster);
  EXPECT_EQ(sub_->snapshots(), 0u);
}

// Regression: after a RESET the store is wiped for a new snapshot, and freshness proven for the
// old data used to survive, so a half-installed store answered "not found" as fresh.
TEST_F(SubscriberTest, AnEdgeIsNotFreshWhileASnapshotReplacesItsData) {
  absl::Notification fresh, release;
  upstream_.OnSubscribe([&](FakeSubscribeCall& call) {
    if (call.index() > 0) return HoldOpen(call, 100, kCluster);
    call.SendStart(5, kCluster);
    call.AnswerPings(5, 0);
    fresh.WaitForNotificationWithTimeout(absl::Seconds(10));
    call.SendReset("version 6 is no longer in the change log");
    call.WaitGone(absl::Seconds(5));
    return grpc::Status::OK;
  });
  upstream_.OnSnapshot([&](int, grpc::ServerContext* ctx, grpc::ServerWriter<SnapshotChunk>* w) {
    w->Write(Chunk(100, {"a"}, false));
    for (int i = 0; i < 1000 && !ctx->IsCancelled() && !release.HasBeenNotified(); ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    w->Write(Chunk(100, {"b"}, true));
    return grpc::Status::OK;
  });
  Start(FakeApplier::Options().set_applied(5).set_cluster_id(kCluster));
  ASSERT_TRUE(WaitFor([&] { return freshness_.StalenessMicros() < 500'000; }));
  fresh.Notify();
  ASSERT_TRUE(WaitFor([&] { return applier_->snapshot_chunks() == 1; }));
  // The store now holds one key of the new history at version 0: it proves nothing.
  EXPECT_EQ(applier_->applied_version(), 0u);
  EXPECT_EQ(freshness_.StalenessMicros(), FreshnessTracker::kNeverFresh);
  release.Notify();
}

TEST_F(SubscriberTest, ACacheEdgeStartsOverFromTheHeadAfterReset) {
  upstream_.OnSubscribe([&](FakeSubscribeCall& call) {
    switch (call.index()) {
      case 0:
        call.SendStart(20, kCluster);
        call.SendReset("too old");
        call.WaitGone(absl::Seconds(5));
        return grpc::Status::OK;
      case 1:
        call.SendStart(50, "cluster-2");
        call.SendPuts(51, 52);
        applier_->WaitApplied(52, absl::Seconds(5));
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "bye");
      default:
        return HoldOpen(call, 52, "cluster-2");
    }
  });
  SubscriberOptions o = Options();
  Start(FakeApplier::Options().set_holds_everything(false).set_applied(10).set_cluster_id(kCluster),
        o);
  ASSERT_TRUE(upstream_.WaitHellos(3, absl::Seconds(10)));
  auto hellos = upstream_.hellos();
  EXPECT_EQ(hellos[0].hello.from_version(), 11u);
  EXPECT_EQ(hellos[0].hello.cluster_id(), kCluster);
  EXPECT_EQ(hellos[1].hello.from_version(), 0u);
  EXPECT_EQ(hellos[1].hello.cluster_id(), "");
  // Once started over, it continues its new history as usual.
  EXPECT_EQ(hellos[2].hello.from_version(), 53u);
  EXPECT_EQ(hellos[2].hello.cluster_id(), "cluster-2");
  EXPECT_EQ(upstream_.snapshot_calls(), 0);
  ASSERT_EQ(applier_->start_froms().size(), 1u);
  EXPECT_EQ(applier_->start_froms()[0].first, 50u);
  EXPECT_EQ(applier_->start_froms()[0].second, "cluster-2");
  EXPECT_EQ(applier_->applied_version(), 52u);
  EXPECT_EQ(sub_->resets(), 1u);
  EXPECT_EQ(sub_->snapshots(), 0u);
}

TEST_F(SubscriberTest, ANewCacheEdgeStartsFromTheHead) {
  upstream_.OnSubscribe([](FakeSubscribeCall& call) { return HoldOpen(call, 77, kCluster); });
  SubscriberOptions o = Options();
  Start(FakeApplier::Options().set_holds_everything(false), o);
  ASSERT_TRUE(upstream_.WaitHellos(1, absl::Seconds(10)));
  EXPECT_EQ(upstream_.hellos()[0].hello.from_version(), 0u);
  EXPECT_EQ(upstream_.hellos()[0].hello.mode(), "cache");
  ASSERT_TRUE(applier_->WaitApplied(77, absl::Seconds(10)));
  EXPECT_EQ(upstream_.snapshot_calls(), 0);
  EXPECT_EQ(sub_->resumes(), 0u);
}

TEST_F(SubscriberTest, ASnapshotWithoutItsLastChunkIsNotFinishedAndIsRetried) {
  std::atomic<int> finished_at_retry{-1};
  upstream_.OnSnapshot([&](int index, grpc::ServerContext*, grpc::ServerWriter<SnapshotChunk>* w) {
    switch (index) {
      case 0:  // refused
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "busy");
      case 1:  // ends without its last chunk
        w->Write(Chunk(100, {"a"}, false));
        return grpc::Status::OK;
      case 2:  // chunks disagree on the version
        w->Write(Chunk(100, {"a"}, false));
        w->Write(Chunk(101, {"b"}, true));
        return grpc::Status::OK;
      default:
        finished_at_retry = applier_->finish_snapshots();
        w->Write(Chunk(100, {"a", "b"}, false));
        w->Write(Chunk(100, {}, true));
        return grpc::Status::OK;
    }
  });
  upstream_.OnSubscribe([](FakeSubscribeCall& call) { return HoldOpen(call, 100, kCluster); });
  Start(FakeApplier::Options().set_needs_bootstrap(true));
  ASSERT_TRUE(upstream_.WaitHellos(1, absl::Seconds(10)));
  EXPECT_EQ(upstream_.snapshot_calls(), 4);
  EXPECT_EQ(finished_at_retry.load(), 0);
  EXPECT_EQ(applier_->finish_snapshots(), 1);
  EXPECT_EQ(applier_->begin_snapshots(), 3);  // the refused one never began
  EXPECT_EQ(upstream_.hellos()[0].hello.from_version(), 101u);
  EXPECT_EQ(upstream_.hellos()[0].hello.cluster_id(), kCluster);
  EXPECT_EQ(sub_->snapshots(), 1u);
  EXPECT_EQ(applier_->data().size(), 2u);
}

TEST_F(SubscriberTest, StateAndCountersFollowTheConnection) {
  absl::Notification release_snapshot;
  upstream_.OnSnapshot([&](int, grpc::ServerContext*, grpc::ServerWriter<SnapshotChunk>* w) {
    release_snapshot.WaitForNotificationWithTimeout(absl::Seconds(10));
    w->Write(Chunk(100, {"a"}, true));
    return grpc::Status::OK;
  });
  absl::Notification end_stream;
  upstream_.OnSubscribe([&](FakeSubscribeCall& call) {
    if (call.index() > 0) return HoldOpen(call, 100, kCluster);
    call.SendStart(100, kCluster);
    end_stream.WaitForNotificationWithTimeout(absl::Seconds(10));
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "bye");
  });
  SubscriberOptions o = Options();
  o.initial_backoff = absl::Milliseconds(500);
  Start(FakeApplier::Options().set_needs_bootstrap(true), o);

  ASSERT_TRUE(WaitFor([&] { return sub_->state() == Subscriber::State::kSnapshotting; }));
  EXPECT_FALSE(sub_->connected());
  release_snapshot.Notify();
  ASSERT_TRUE(WaitFor([&] { return sub_->state() == Subscriber::State::kStreaming; }));
  EXPECT_TRUE(sub_->connected());
  kvstore::v1::ReplicationStatus status;
  sub_->FillStatus(&status);
  EXPECT_EQ(status.state(), "streaming");
  EXPECT_EQ(status.upstream(), upstream_.address());
  EXPECT_TRUE(status.connected());
  EXPECT_EQ(status.snapshots(), 1u);
  EXPECT_EQ(sub_->snapshots(), 1u);

  end_stream.Notify();
  ASSERT_TRUE(WaitFor([&] { return sub_->state() == Subscriber::State::kBackoff; }));
  EXPECT_FALSE(sub_->connected());
  // The next connection resumes (no second snapshot).
  ASSERT_TRUE(upstream_.WaitHellos(2, absl::Seconds(10)));
  ASSERT_TRUE(WaitFor([&] { return sub_->state() == Subscriber::State::kStreaming; }));
  EXPECT_EQ(upstream_.snapshot_calls(), 1);
  EXPECT_EQ(upstream_.hellos()[1].hello.from_version(), 101u);
  EXPECT_EQ(sub_->resets(), 0u);
  EXPECT_EQ(sub_->gaps(), 0u);
  sub_->Stop();
  EXPECT_EQ(sub_->state(), Subscriber::State::kStopped);
  EXPECT_FALSE(sub_->connected());
}

TEST_F(SubscriberTest, ResumesAreCounted) {
  upstream_.OnSubscribe([this](FakeSubscribeCall& call) {
    call.SendStart(5, kCluster);
    if (call.index() < 2) {
      WaitFor([this] { return sub_->connected(); }, absl::Seconds(5));
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "bye");
    }
    call.WaitGone(absl::Seconds(30));
    return grpc::Status::OK;
  });
  Start(FakeApplier::Options().set_applied(5).set_cluster_id(kCluster));
  ASSERT_TRUE(upstream_.WaitHellos(3, absl::Seconds(10)));
  ASSERT_TRUE(WaitFor([&] { return sub_->resumes() == 3; }));
  EXPECT_EQ(sub_->snapshots(), 0u);
  EXPECT_EQ(upstream_.snapshot_calls(), 0);
}

TEST_F(SubscriberTest, StopIsPromptWhileStreaming) {
  std::atomic<bool> left{false};
  upstream_.OnSubscribe([&](FakeSubscribeCall& call) {
    call.SendStart(0, kCluster);
    left = call.WaitGone(absl::Seconds(30));
    return grpc::Status::OK;
  });
  Start(FakeApplier::Options().set_cluster_id(kCluster));
  ASSERT_TRUE(WaitFor([&] { return sub_->connected(); }));
  EXPECT_LT(TimeStop(), absl::Seconds(1));
  EXPECT_TRUE(WaitFor([&] { return left.load(); }, absl::Seconds(5)));
  EXPECT_EQ(sub_->state(), Subscriber::State::kStopped);
}

TEST_F(SubscriberTest, StopIsPromptInBackoff) {
  upstream_.OnSubscribe(
      [](FakeSubscribeCall&) { return grpc::Status(grpc::StatusCode::UNAVAILABLE, "go away"); });
  SubscriberOptions o = Options();
  o.initial_backoff = absl::Seconds(30);
  o.max_backoff = absl::Seconds(60);
  Start(FakeApplier::Options().set_cluster_id(kCluster), o);
  ASSERT_TRUE(WaitFor([&] { return sub_->state() == Subscriber::State::kBackoff; }));
  EXPECT_LT(TimeStop(), absl::Seconds(1));
  EXPECT_EQ(upstream_.hellos().size(), 1u);
}

TEST_F(SubscriberTest, StopIsPromptWhileSnapshotting) {
  upstream_.OnSnapshot([](int, grpc::ServerContext* ctx, grpc::ServerWriter<SnapshotChunk>* w) {
    w->Write(Chunk(100, {"a"}, false));
    for (int i = 0; i < 3000 && !ctx->IsCancelled(); ++i) absl::SleepFor(absl::Milliseconds(10));
    return grpc::Status::OK;
  });
  Start(FakeApplier::Options().set_needs_bootstrap(true));
  ASSERT_TRUE(WaitFor([&] { return applier_->snapshot_chunks() == 1; }));
  EXPECT_EQ(sub_->state(), Subscriber::State::kSnapshotting);
  EXPECT_LT(TimeStop(), absl::Seconds(1));
  EXPECT_EQ(applier_->finish_snapshots(), 0);
}

TEST_F(SubscriberTest, StopIsPromptWhenTheUpstreamIsUnreachable) {
  // A port that was just free: nothing listens there.
  auto nowhere = kvstore::v1::Replication::NewStub(
      grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()));
  applier_ = std::make_unique<FakeApplier>(FakeApplier::Options().set_cluster_id(kCluster));
  sub_ = NewSubscriber(nowhere.get(), "127.0.0.1:1", Options());
  sub_->Start();
  ASSERT_TRUE(WaitFor([&] {
    kvstore::v1::ReplicationStatus s;
    sub_->FillStatus(&s);
    return s.reconnects() >= 2;
  }));
  EXPECT_FALSE(sub_->connected());
  EXPECT_LT(TimeStop(), absl::Seconds(1));
  sub_.reset();
}

TEST_F(SubscriberTest, PingsComeAtTheIntervalAndCarryTheAppliedVersion) {
  auto pings = std::make_shared<std::vector<testing::PingRecord>>();
  absl::Notification done;
  upstream_.OnSubscribe([&, pings](FakeSubscribeCall& call) {
    call.SendStart(5, kCluster);
    call.SendPuts(1, 5);
    call.WaitPing([](const kvstore::v1::Ping& p) { return p.applied_version() == 5; },
                  absl::Seconds(5));
    absl::SleepFor(absl::Seconds(1));
    call.SendPuts(6, 8);
    call.WaitPing([](const kvstore::v1::Ping& p) { return p.applied_version() == 8; },
                  absl::Seconds(5));
    *pings = call.pings();
    done.Notify();
    call.WaitGone(absl::Seconds(30));
    return grpc::Status::OK;
  });
  Start(FakeApplier::Options().set_cluster_id(kCluster));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(15)));
  ASSERT_GE(pings->size(), 10u);
  // Over the quiet second: about 20 pings at 50 ms.
  std::vector<double> gaps;
  for (size_t i = 1; i < pings->size(); ++i) {
    const auto& a = (*pings)[i - 1];
    const auto& b = (*pings)[i];
    EXPECT_GE(b.ping.applied_version(), a.ping.applied_version());
    EXPECT_GE(b.ping.t0_micros(), a.ping.t0_micros());
    gaps.push_back(absl::ToDoubleMilliseconds(b.at - a.at));
  }
  std::sort(gaps.begin(), gaps.end());
  double median = gaps[gaps.size() / 2];
  EXPECT_GE(median, 40.0);
  EXPECT_LE(median, 80.0);
  int at_five = 0;
  for (const auto& p : *pings) at_five += p.ping.applied_version() == 5;
  EXPECT_GE(at_five, 12);
  EXPECT_LE(at_five, 30);
  EXPECT_EQ(pings->back().ping.applied_version(), 8u);
  // The pinger stamps t0 with the freshness tracker's clock.
  int64_t now = Clock::Real()->MonotonicMicros();
  EXPECT_LE(pings->back().ping.t0_micros(), now);
  EXPECT_GT(pings->back().ping.t0_micros(), now - 10'000'000);
}

TEST_F(SubscriberTest, AnsweredPingsMakeTheEdgeFreshOnceTheirHeadIsApplied) {
  absl::Notification answered_early, send_changes;
  upstream_.OnSubscribe([&](FakeSubscribeCall& call) {
    call.SendStart(0, kCluster);
    call.AnswerPings(/*head=*/5, /*staleness=*/0);
    size_t n = call.pings().size();
    call.WaitPing(nullptr, absl::Seconds(5));
    WaitFor([&] { return call.pings().size() >= n + 2; }, absl::Seconds(5));
    answered_early.Notify();
    send_changes.WaitForNotificationWithTimeout(absl::Seconds(10));
    call.SendPuts(1, 5);
    call.WaitGone(absl::Seconds(30));
    return grpc::Status::OK;
  });
  Start(FakeApplier::Options().set_cluster_id(kCluster));
  ASSERT_TRUE(answered_early.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(20));
  // Answers that need version 5 prove nothing while the edge is at 0.
  EXPECT_EQ(freshness_.StalenessMicros(), FreshnessTracker::kNeverFresh);
  send_changes.Notify();
  ASSERT_TRUE(WaitFor([&] { return freshness_.StalenessMicros() < 500'000; }));
  EXPECT_EQ(applier_->applied_version(), 5u);
}

}  // namespace
}  // namespace kv::replication

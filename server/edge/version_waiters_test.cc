#include "server/edge/version_waiters.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace kv::server {
namespace {

// Records how (and how often) one waiter was called back.
struct Outcome {
  std::atomic<int> calls{0};
  std::atomic<bool> reached{false};
  absl::Notification done;
  absl::Time at;

  VersionWaiters::Callback Callback() {
    return [this](bool r) {
      reached = r;
      at = absl::Now();
      if (calls.fetch_add(1) == 0) done.Notify();
    };
  }
  bool Wait(absl::Duration timeout = absl::Seconds(5)) {
    return done.WaitForNotificationWithTimeout(timeout);
  }
};

TEST(VersionWaiters, AnAppliedVersionIsAnsweredAtOnce) {
  VersionWaiters w(Clock::Real(), 10);
  Outcome o;
  w.Wait(10, absl::Now() + absl::Seconds(10), o.Callback());
  ASSERT_TRUE(o.done.HasBeenNotified());  // synchronously, on the caller's thread
  EXPECT_TRUE(o.reached);
  Outcome older;
  w.Wait(3, absl::Now() + absl::Seconds(10), older.Callback());
  EXPECT_TRUE(older.done.HasBeenNotified());
  EXPECT_TRUE(older.reached);
  EXPECT_EQ(w.waiting(), 0u);
}

TEST(VersionWaiters, APastDeadlineIsAnsweredAtOnceWithFalse) {
  VersionWaiters w(Clock::Real(), 1);
  Outcome o;
  w.Wait(5, absl::Now() - absl::Milliseconds(1), o.Callback());
  ASSERT_TRUE(o.done.HasBeenNotified());
  EXPECT_FALSE(o.reached);
  EXPECT_EQ(w.waiting(), 0u);
}

TEST(VersionWaiters, AdvanceReleasesTheWaitersItSatisfies) {
  VersionWaiters w(Clock::Real(), 0);
  Outcome at5, at7, at9;
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  w.Wait(5, deadline, at5.Callback());
  w.Wait(7, deadline, at7.Callback());
  w.Wait(9, deadline, at9.Callback());
  EXPECT_EQ(w.waiting(), 3u);
  w.Advance(4);
  EXPECT_EQ(w.waiting(), 3u);
  w.Advance(7);
  ASSERT_TRUE(at5.Wait());
  ASSERT_TRUE(at7.Wait());
  EXPECT_TRUE(at5.reached);
  EXPECT_TRUE(at7.reached);
  EXPECT_FALSE(at9.done.HasBeenNotified());
  EXPECT_EQ(w.waiting(), 1u);
  EXPECT_EQ(w.applied(), 7u);
  w.Advance(6);  // never backwards
  EXPECT_EQ(w.applied(), 7u);
  w.Advance(100);
  ASSERT_TRUE(at9.Wait());
  EXPECT_TRUE(at9.reached);
  EXPECT_EQ(w.waiting(), 0u);
  for (Outcome* o : {&at5, &at7, &at9}) EXPECT_EQ(o->calls.load(), 1);
}

TEST(VersionWaiters, AWaiterTimesOutAtItsDeadlineWithFalse) {
  VersionWaiters w(Clock::Real(), 0);
  Outcome soon, later;
  absl::Time start = absl::Now();
  absl::Time deadline = start + absl::Milliseconds(150);
  w.Wait(5, start + absl::Seconds(30), later.Callback());
  w.Wait(5, deadline, soon.Callback());  // an earlier deadline arriving second
  ASSERT_TRUE(soon.Wait());
  EXPECT_FALSE(soon.reached);
  EXPECT_GE(soon.at, deadline);
  EXPECT_LT(soon.at - deadline, absl::Milliseconds(500));  // loose: loaded machines
  EXPECT_FALSE(later.done.HasBeenNotified());
  EXPECT_EQ(w.waiting(), 1u);
  // The expired waiter is gone: a later Advance calls only the other one.
  w.Advance(5);
  ASSERT_TRUE(later.Wait());
  EXPECT_TRUE(later.reached);
  EXPECT_EQ(soon.calls.load(), 1);
  EXPECT_EQ(later.calls.load(), 1);
}

TEST(VersionWaiters, DeadlinesLaterThanTheTimersIdleTickAreKept) {
  VersionWaiters w(Clock::Real(), 0);
  Outcome o;
  absl::Time deadline = absl::Now() + absl::Milliseconds(350);
  w.Wait(1, deadline, o.Callback());
  ASSERT_TRUE(o.Wait());
  EXPECT_FALSE(o.reached);
  EXPECT_GE(o.at, deadline);
  EXPECT_LT(o.at - deadline, absl::Milliseconds(500));
}

TEST(VersionWaiters, StopReleasesEveryoneWithFalseAndLaterWaitsAreAnsweredAtOnce) {
  auto w = std::make_unique<VersionWaiters>(Clock::Real(), 3);
  std::vector<std::unique_ptr<Outcome>> outcomes;
  for (int i = 0; i < 10; ++i) {
    outcomes.push_back(std::make_unique<Outcome>());
    w->Wait(10 + i, absl::Now() + absl::Seconds(30), outcomes.back()->Callback());
  }
  absl::Time t = absl::Now();
  w->Stop();
  EXPECT_LT(absl::Now() - t, absl::Seconds(1));
  for (auto& o : outcomes) {
    ASSERT_TRUE(o->done.HasBeenNotified());
    EXPECT_FALSE(o->reached);
    EXPECT_EQ(o->calls.load(), 1);
  }
  EXPECT_EQ(w->waiting(), 0u);
  Outcome after, applied;
  w->Wait(50, absl::Now() + absl::Seconds(30), after.Callback());
  w->Wait(2, absl::Now() + absl::Seconds(30), applied.Callback());
  ASSERT_TRUE(after.done.HasBeenNotified());
  EXPECT_FALSE(after.reached);
  ASSERT_TRUE(applied.done.HasBeenNotified());
  EXPECT_TRUE(applied.reached);
  w->Advance(100);  // harmless after Stop
  w.reset();        // and the destructor's second Stop is too
  for (auto& o : outcomes) EXPECT_EQ(o->calls.load(), 1);
}

TEST(VersionWaiters, ManyConcurrentWaitersAreEachCalledExactlyOnce) {
  VersionWaiters w(Clock::Real(), 0);
  constexpr int kThreads = 8, kPerThread = 500;
  constexpr uint64_t kTop = 1000;
  std::vector<std::unique_ptr<Outcome>> outcomes(kThreads * kPerThread);
  std::vector<uint64_t> versions(outcomes.size());
  std::vector<absl::Time> deadlines(outcomes.size());
  for (auto& o : outcomes) o = std::make_unique<Outcome>();
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  absl::Time start = absl::Now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        size_t k = t * kPerThread + i;
        // Some need more than will ever be applied; some have short deadlines.
        versions[k] = 1 + rng() % (kTop + 100);
        deadlines[k] = absl::Now() + absl::Milliseconds(rng() % 4 == 0 ? 1 + rng() % 50 : 2000);
        w.Wait(versions[k], deadlines[k], outcomes[k]->Callback());
      }
    });
  }
  std::thread advancer([&] {
    while (!go.load()) std::this_thread::yield();
    for (uint64_t v = 1; v <= kTop; ++v) {
      w.Advance(v);
      if (v % 50 == 0) absl::SleepFor(absl::Milliseconds(1));
    }
  });
  go = true;
  for (auto& t : threads) t.join();
  advancer.join();
  // Everyone needing at most kTop has been released; the rest time out by their deadline.
  for (size_t k = 0; k < outcomes.size(); ++k) {
    ASSERT_TRUE(outcomes[k]->Wait(absl::Seconds(10))) << k;
  }
  for (size_t k = 0; k < outcomes.size(); ++k) {
    const Outcome& o = *outcomes[k];
    if (o.reached) {
      EXPECT_LE(versions[k], kTop) << k;
    } else {
      EXPECT_TRUE(versions[k] > kTop || o.at >= deadlines[k]) << k;
    }
    if (versions[k] > kTop) {
      EXPECT_FALSE(o.reached) << k;
    }
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(w.waiting(), 0u);
  // No callback runs twice, also not late.
  absl::SleepFor(absl::Milliseconds(50));
  for (size_t k = 0; k < outcomes.size(); ++k) ASSERT_EQ(outcomes[k]->calls.load(), 1) << k;
}

TEST(VersionWaiters, ACallbackMayWaitAgain) {
  VersionWaiters w(Clock::Real(), 0);
  Outcome second;
  std::atomic<int> first_calls{0};
  w.Wait(1, absl::Now() + absl::Seconds(10), [&](bool reached) {
    ++first_calls;
    EXPECT_TRUE(reached);
    w.Wait(2, absl::Now() + absl::Seconds(10), second.Callback());  // no deadlock
  });
  w.Advance(1);
  EXPECT_EQ(first_calls.load(), 1);
  w.Advance(2);
  ASSERT_TRUE(second.Wait());
  EXPECT_TRUE(second.reached);
}

TEST(VersionWaiters, DeadlinesFollowTheInjectedClock) {
  ManualClock clock(1'000'000, 1'700'000'000);
  VersionWaiters w(&clock, 0);
  const absl::Time now = absl::FromUnixMicros(clock.UnixMicros());
  Outcome o;
  w.Wait(5, now + absl::Seconds(2), o.Callback());
  // Real time passes, but the clock does not: the waiter stays.
  EXPECT_FALSE(o.Wait(absl::Milliseconds(300)));
  EXPECT_EQ(w.waiting(), 1u);
  clock.AdvanceMicros(3'000'000);
  ASSERT_TRUE(o.Wait());
  EXPECT_FALSE(o.reached);
  EXPECT_EQ(w.waiting(), 0u);
  // A deadline already past on the clock is answered at once.
  Outcome late;
  w.Wait(5, now + absl::Seconds(1), late.Callback());
  ASSERT_TRUE(late.done.HasBeenNotified());
  EXPECT_FALSE(late.reached);
}

}  // namespace
}  // namespace kv::server

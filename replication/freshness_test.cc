#include "replication/freshness.h"

#include <gtest/gtest.h>

#include <limits>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "replication/testing/freshness_sim.h"

namespace kv::replication {
namespace {

constexpr int64_t kNever = FreshnessTracker::kNeverFresh;
constexpr int64_t kMs = 1000;

TEST(Freshness, NeverFreshBeforeTheFirstCoveredAnswer) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  EXPECT_EQ(f.StalenessMicros(), kNever);
  EXPECT_EQ(f.FreshAsOfMicros(), std::numeric_limits<int64_t>::min());
  // An answer whose head this node has not applied yet proves nothing.
  f.OnPong(f.PingTime(), /*head_version=*/10, 0, /*applied=*/9);
  clock.AdvanceMicros(5 * kMs);
  EXPECT_EQ(f.StalenessMicros(), kNever);
  EXPECT_EQ(f.FreshAsOfMicros(), std::numeric_limits<int64_t>::min());
  f.OnApplied(9);
  EXPECT_EQ(f.StalenessMicros(), kNever);
}

TEST(Freshness, StalenessIsNowMinusPingTimePlusUpstreamStaleness) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  int64_t t0 = f.PingTime();
  EXPECT_EQ(t0, clock.MonotonicMicros());
  clock.AdvanceMicros(30 * kMs);  // round trip
  f.OnPong(t0, 5, /*upstream_staleness_micros=*/0, /*applied=*/5);
  EXPECT_EQ(f.FreshAsOfMicros(), t0);
  EXPECT_EQ(f.StalenessMicros(), 30 * kMs);
  clock.AdvanceMicros(20 * kMs);
  EXPECT_EQ(f.StalenessMicros(), 50 * kMs);  // grows with time until the next answer

  // A relay's answer: it was 7 ms stale itself, so this node is fresh as of t1 - 7 ms.
  int64_t t1 = f.PingTime();
  clock.AdvanceMicros(10 * kMs);
  f.OnPong(t1, 6, 7 * kMs, 6);
  EXPECT_EQ(f.FreshAsOfMicros(), t1 - 7 * kMs);
  EXPECT_EQ(f.StalenessMicros(), 17 * kMs);
}

TEST(Freshness, AnAnswerArrivingAtOnceGivesZeroNotNegative) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  f.OnPong(f.PingTime(), 1, 0, 1);
  EXPECT_EQ(f.StalenessMicros(), 0);
}

TEST(Freshness, FreshAsOfNeverMovesBack) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  int64_t t_old = f.PingTime();
  clock.AdvanceMicros(10 * kMs);
  int64_t t_new = f.PingTime();
  clock.AdvanceMicros(10 * kMs);
  f.OnPong(t_new, 3, 0, 3);
  EXPECT_EQ(f.FreshAsOfMicros(), t_new);
  // A late answer to an older ping, and a newer one from a staler relay: neither moves it back.
  f.OnPong(t_old, 2, 0, 3);
  EXPECT_EQ(f.FreshAsOfMicros(), t_new);
  f.OnPong(f.PingTime(), 3, 50 * kMs, 3);
  EXPECT_EQ(f.FreshAsOfMicros(), t_new);
  EXPECT_EQ(f.StalenessMicros(), 10 * kMs);
}

TEST(Freshness, PendingAnswerCountsOnceItsHeadIsApplied) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  int64_t t0 = f.PingTime();
  clock.AdvanceMicros(5 * kMs);
  f.OnPong(t0, /*head_version=*/10, 2 * kMs, /*applied=*/4);
  EXPECT_EQ(f.StalenessMicros(), kNever);
  f.OnApplied(9);
  EXPECT_EQ(f.StalenessMicros(), kNever);
  clock.AdvanceMicros(5 * kMs);
  f.OnApplied(10);
  EXPECT_EQ(f.FreshAsOfMicros(), t0 - 2 * kMs);
  EXPECT_EQ(f.StalenessMicros(), 12 * kMs);
  // Resolved once: applying further does not move it without a new answer.
  f.OnApplied(20);
  EXPECT_EQ(f.FreshAsOfMicros(), t0 - 2 * kMs);
}

TEST(Freshness, PendingAnswersResolveInOrderOfTheirHeads) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  int64_t ta = f.PingTime();
  clock.AdvanceMicros(kMs);
  int64_t tb = f.PingTime();
  clock.AdvanceMicros(kMs);
  int64_t tc = f.PingTime();
  clock.AdvanceMicros(kMs);
  f.OnPong(ta, 10, 0, 5);
  f.OnPong(tb, 20, 0, 5);
  f.OnPong(tc, 30, 0, 5);
  EXPECT_EQ(f.StalenessMicros(), kNever);
  f.OnApplied(15);
  EXPECT_EQ(f.FreshAsOfMicros(), ta);
  f.OnApplied(29);
  EXPECT_EQ(f.FreshAsOfMicros(), tb);
  f.OnApplied(30);
  EXPECT_EQ(f.FreshAsOfMicros(), tc);
}

TEST(Freshness, OneApplyResolvesEveryCoveredAnswerAndKeepsTheFreshest) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  int64_t ta = f.PingTime();
  clock.AdvanceMicros(kMs);
  int64_t tb = f.PingTime();
  clock.AdvanceMicros(kMs);
  f.OnPong(ta, 10, 0, 0);
  f.OnPong(tb, 12, 0, 0);
  f.OnApplied(100);
  EXPECT_EQ(f.FreshAsOfMicros(), tb);
}

TEST(Freshness, ANewerAnswerNeedingLessSupersedesAPendingOne) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  int64_t ta = f.PingTime();
  clock.AdvanceMicros(kMs);
  int64_t tb = f.PingTime();
  clock.AdvanceMicros(kMs);
  // The second answer needs less (head 15) and promises more (later t0).
  f.OnPong(ta, 20, 0, 0);
  f.OnPong(tb, 15, 0, 0);
  f.OnApplied(15);
  EXPECT_EQ(f.FreshAsOfMicros(), tb);
  f.OnApplied(20);
  EXPECT_EQ(f.FreshAsOfMicros(), tb);
}

TEST(Freshness, APendingAnswerPromisingMoreSurvivesAStalerOne) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  int64_t ta = f.PingTime();
  clock.AdvanceMicros(10 * kMs);
  int64_t tb = f.PingTime();
  // The second answer (from a staler relay) needs as much and promises less: the first stays.
  f.OnPong(ta, 20, 0, 0);
  f.OnPong(tb, 20, 30 * kMs, 0);
  f.OnApplied(20);
  EXPECT_EQ(f.FreshAsOfMicros(), ta);
}

TEST(Freshness, DropPendingForgetsUncoveredAnswersButKeepsWhatWasProven) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  int64_t t0 = f.PingTime();
  f.OnPong(t0, 5, 0, 5);
  clock.AdvanceMicros(10 * kMs);
  f.OnPong(f.PingTime(), 50, 0, 5);  // pending
  f.DropPending();                   // e.g. RESET: version 50 belongs to another history
  f.OnApplied(50);
  EXPECT_EQ(f.FreshAsOfMicros(), t0);
  EXPECT_EQ(f.StalenessMicros(), 10 * kMs);
}

TEST(Freshness, MalformedUpstreamStalenessIsIgnored) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  f.OnPong(f.PingTime(), 1, -1, 1);
  EXPECT_EQ(f.StalenessMicros(), kNever);
  f.OnPong(f.PingTime(), 1, std::numeric_limits<int64_t>::min(), 1);
  EXPECT_EQ(f.StalenessMicros(), kNever);
  // A relay that has never been fresh passes kNeverFresh down: it proves nothing.
  f.OnPong(f.PingTime(), 1, kNever, 1);
  EXPECT_EQ(f.StalenessMicros(), kNever);
  // Also once fresh: a negative value would otherwise push fresh_as_of past the ping time.
  int64_t t0 = f.PingTime();
  f.OnPong(t0, 1, 0, 1);
  clock.AdvanceMicros(10 * kMs);
  f.OnPong(f.PingTime(), 1, -100 * kMs, 1);
  EXPECT_EQ(f.FreshAsOfMicros(), t0);
  // Pending answers with malformed staleness are not kept either.
  f.OnPong(f.PingTime(), 9, -100 * kMs, 1);
  f.OnApplied(9);
  EXPECT_EQ(f.FreshAsOfMicros(), t0);
}

// An echoed t0 in this node's future cannot be an echo of a ping it sent (a confused upstream,
// or a pong from before a restart with another clock origin): believing it would report
// staleness 0 for as long as the bogus t0 stayed ahead.
TEST(Freshness, AnAnswerEchoingATimeInTheFutureIsIgnored) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  int64_t t0 = f.PingTime();
  f.OnPong(t0, 1, 0, 1);
  clock.AdvanceMicros(100 * kMs);
  f.OnPong(clock.MonotonicMicros() + 60'000'000, 1, 0, 1);  // a minute ahead
  EXPECT_EQ(f.FreshAsOfMicros(), t0);
  EXPECT_EQ(f.StalenessMicros(), 100 * kMs);
}

TEST(Freshness, ManyPendingAnswersStayBoundedAndNeverOverclaim) {
  ManualClock clock;
  FreshnessTracker f(&clock);
  constexpr int kAnswers = 5000;  // more than the tracker keeps
  std::vector<int64_t> t0s;
  for (int i = 1; i <= kAnswers; ++i) {
    t0s.push_back(f.PingTime());
    f.OnPong(t0s.back(), /*head_version=*/i, 0, /*applied=*/0);
    clock.AdvanceMicros(100);
  }
  // Whatever was dropped, applying version v may only prove t0 of an answer with head <= v.
  for (int v : {1, 100, 3000, 4500, kAnswers}) {
    f.OnApplied(v);
    if (f.StalenessMicros() != kNever) {
      EXPECT_LE(f.FreshAsOfMicros(), t0s[v - 1]) << "applied " << v;
    }
  }
  // The newest answer is never the one dropped.
  EXPECT_EQ(f.FreshAsOfMicros(), t0s.back());
}

// --- The property, under random delays (replication/testing/freshness_sim.h) -------------------

struct SimCase {
  int relays;
  bool overtake;
  int seeds;
};

// Staleness must stay near (ping interval + round trip) per hop once the writes stop.
int64_t StalenessBound(const testing::FreshnessSimOptions& o, int hop) {
  int64_t per_hop = o.ping_interval_micros * 6 / 5 + 2 * (o.max_delay_micros + o.spike_micros);
  return (hop + 1) * per_hop;
}

TEST(FreshnessSim, NeverClaimsVersionsANodeHasNotApplied) {
  const SimCase cases[] = {{0, false, 100}, {0, true, 100}, {1, false, 100},
                           {1, true, 100},  {2, false, 30}, {3, true, 30}};
  uint64_t total_checks = 0, early = 0;
  for (const SimCase& c : cases) {
    for (int seed = 1; seed <= c.seeds; ++seed) {
      testing::FreshnessSimOptions o;
      o.seed = seed * 7919 + c.relays * 31 + c.overtake;
      o.relays = c.relays;
      o.pongs_overtake_changes = c.overtake;
      testing::FreshnessSimResult r = testing::RunFreshnessSim(o);
      std::string what =
          absl::StrCat("relays=", c.relays, " overtake=", c.overtake, " seed=", o.seed);
      ASSERT_EQ(r.violations, 0u) << what << ": " << r.first_violation;
      ASSERT_GT(r.commits, 100u) << what;
      ASSERT_GT(r.checks, 100u) << what;
      early += r.early_answers;
      total_checks += r.checks;
      // Liveness: after the writes stop every node holds everything and is fresh again.
      for (size_t i = 0; i < r.final_applied.size(); ++i) {
        ASSERT_EQ(r.final_applied[i], r.commits) << what << " node " << i + 1;
        ASSERT_NE(r.final_staleness_micros[i], kNever) << what << " node " << i + 1;
        ASSERT_LE(r.final_staleness_micros[i], StalenessBound(o, i)) << what << " node " << i + 1;
      }
    }
  }
  EXPECT_GT(total_checks, 100000u);
  EXPECT_GT(early, 0u) << "the overtaking cases never exercised pending answers";
}

// The same check catches the classic mistakes, so a pass above means something.
TEST(FreshnessSim, TheCheckCatchesARelayThatHidesItsStaleness) {
  uint64_t violations = 0;
  for (int seed = 1; seed <= 30; ++seed) {
    testing::FreshnessSimOptions o;
    o.seed = seed;
    o.relays = 1;
    o.relay_hides_its_staleness = true;
    violations += testing::RunFreshnessSim(o).violations;
  }
  EXPECT_GT(violations, 0u);
}

TEST(FreshnessSim, TheCheckCatchesAnswersCountedBeforeTheirHeadIsApplied) {
  uint64_t violations = 0;
  for (int seed = 1; seed <= 30; ++seed) {
    testing::FreshnessSimOptions o;
    o.seed = seed;
    o.pongs_overtake_changes = true;
    o.count_answers_before_applying = true;
    violations += testing::RunFreshnessSim(o).violations;
  }
  EXPECT_GT(violations, 0u);
}

}  // namespace
}  // namespace kv::replication

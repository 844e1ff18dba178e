#include "tests/checker/checker.h"

#include <gtest/gtest.h>

#include "tests/checker/test_util.h"

namespace kv::checker {
namespace {

using testutil::HistoryBuilder;

// Checks and prints the report when it is not what the test expects.
CheckResult RunCheck(const HistoryBuilder& h, const CheckOptions& options = {}) {
  CheckResult r = Check(h.ops, h.log, options);
  return r;
}

void ExpectOk(const HistoryBuilder& h, const CheckOptions& options = {}) {
  CheckResult r = RunCheck(h, options);
  EXPECT_TRUE(r.ok()) << r.Summary();
}

void ExpectOnly(const HistoryBuilder& h, ViolationKind kind, const CheckOptions& options = {}) {
  CheckResult r = RunCheck(h, options);
  EXPECT_TRUE(r.Has(kind)) << "expected " << ViolationKindName(kind) << "\n" << r.Summary();
  EXPECT_EQ(r.total(), r.count(kind)) << r.Summary();
}

// Two puts of one key, 1 s apart; the second completes at 1'000'030.
HistoryBuilder TwoPuts() {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 30);
  h.Put(1, "k", "b", 2, 1'000'000, 1'000'030);
  h.LogPut(1, "k", "a");
  h.LogPut(2, "k", "b");
  return h;
}

// ---- Valid histories, including ambiguity that must not be flagged.

TEST(CheckerTest, EmptyHistoryAndLogAreFine) { ExpectOk(HistoryBuilder{}); }

TEST(CheckerTest, SequentialHistoryPasses) {
  HistoryBuilder h = TwoPuts();
  h.Get(2, "k", "a", 1, 100, 110, 50'000);
  h.Get(2, "k", "b", 2, 1'000'100, 1'000'110, 50'000);
  h.Get(2, "other", "", 0, 1'000'200, 1'000'210, 50'000);
  ExpectOk(h);
}

TEST(CheckerTest, ReadConcurrentWithWriteMaySeeEither) {
  HistoryBuilder h = TwoPuts();  // "b" is written during [1'000'000, 1'000'030]
  h.Get(2, "k", "a", 1, 1'000'010, 1'000'020, 0);
  h.StrongGet(3, "k", "a", 1, 1'000'005, 1'000'040);
  h.Get(4, "k", "b", 2, 1'000'015, 1'000'025, 0);
  h.StrongGet(5, "k", "b", 2, 1'000'012, 1'000'050);
  ExpectOk(h);
  // But once a read has seen "b" complete, a read that starts later cannot see "a".
  h.StrongGet(6, "k", "a", 1, 1'000'026, 1'000'060);
  ExpectOnly(h, ViolationKind::kStrongRead);
}

TEST(CheckerTest, OldValueWithinBoundIsFine) {
  HistoryBuilder h = TwoPuts();
  // The newer write completed 90 ms before this read; the bound is 100 ms.
  h.Get(2, "k", "a", 1, 1'090'030, 1'090'040, 100'000);
  // No bound known: only existence is checked.
  h.Get(3, "k", "a", 1, 9'000'000, 9'000'010);
  ExpectOk(h);
}

TEST(CheckerTest, UnknownOutcomeWritesMayOrMayNotApply) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 0, 0, 100, Outcome::kUnknown);    // applied, later
  h.Put(1, "k", "b", 0, 200, 300, Outcome::kUnknown);  // never applied
  h.Put(2, "k", "c", 0, 400, 500, Outcome::kFailed);   // failed, not applied
  h.LogPut(1, "k", "a");
  // Version 1 may have committed after its client gave up; a read may see it late, or not yet.
  h.Get(3, "k", "", 0, 10'000, 10'010, 0);
  h.Get(3, "k", "a", 1, 20'000, 20'010, 0);
  ExpectOk(h);
}

TEST(CheckerTest, SweepDeletionsNeedNoClient) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.LogPut(1, "k", "a", /*expiration=*/1'700'000'005);
  h.LogDelete(2, "k");
  h.Get(2, "k", "", 0, 100, 110, 0);
  h.Get(2, "k", "", 0, 200, 210, 0);
  ExpectOk(h);
}

TEST(CheckerTest, ExpiringKeyMayBeAbsentWithoutWallClock) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.LogPut(1, "k", "a", /*expiration=*/1'700'000'005);
  h.Get(2, "k", "", 0, 5'000'000, 5'000'010, 0);
  ExpectOk(h);
}

TEST(CheckerTest, NoOpDeleteIsAStrongAbsence) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.Delete(1, "k", true, 2, 20, 30);
  h.Delete(2, "k", false, 2, 40, 50);
  h.LogPut(1, "k", "a");
  h.LogDelete(2, "k");
  ExpectOk(h);
}

TEST(CheckerTest, InvalidationMatchesAcknowledgedPut) {
  HistoryBuilder h;
  h.Put(1, "big", "huge-value", 1, 0, 10);
  h.LogInvalidate(1, "big");
  h.Get(2, "big", "huge-value", 1, 20, 30, 0);
  CheckOptions o;
  o.allow_unexplained_delete = false;
  ExpectOk(h, o);
}

TEST(CheckerTest, SessionReadsMovingForwardAreFine) {
  HistoryBuilder h = TwoPuts();
  h.Get(2, "k", "a", 1, 100, 110, 10'000'000);
  h.Get(2, "k", "a", 1, 200, 210, 10'000'000);
  h.Get(2, "k", "b", 2, 2'000'000, 2'000'010, 10'000'000);
  // Overlapping reads of one client are not ordered.
  h.Get(3, "k", "b", 2, 1'000'100, 1'000'200, 10'000'000);
  h.Get(3, "k", "a", 1, 1'000'150, 1'000'160, 10'000'000);
  ExpectOk(h);
}

// ---- Check 1: writes and the log.

TEST(CheckerTest, LostAcknowledgedWrite) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.Put(1, "k", "b", 2, 20, 30);
  h.LogPut(1, "k", "a");
  ExpectOnly(h, ViolationKind::kLostWrite);
}

TEST(CheckerTest, AcknowledgedVersionHoldsSomethingElse) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.Put(2, "j", "b", 1, 0, 10, Outcome::kUnknown);
  h.LogPut(1, "j", "b");
  ExpectOnly(h, ViolationKind::kLostWrite);
}

TEST(CheckerTest, WriteAppliedTwice) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.LogPut(1, "k", "a");
  h.LogPut(2, "k", "a");
  ExpectOnly(h, ViolationKind::kDuplicateWrite);
}

TEST(CheckerTest, UnknownWriteAppliedTwice) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 0, 0, 10, Outcome::kUnknown);
  h.LogPut(1, "k", "a");
  h.LogPut(2, "k", "a");
  ExpectOnly(h, ViolationKind::kDuplicateWrite);
}

TEST(CheckerTest, GapInTheLog) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.Put(1, "k", "c", 3, 20, 30);
  h.LogPut(1, "k", "a");
  h.LogPut(3, "k", "c");
  ExpectOnly(h, ViolationKind::kLogGap);
}

TEST(CheckerTest, LogMustStartAtVersionOne) {
  HistoryBuilder h;
  h.LogDelete(5, "k");
  ExpectOnly(h, ViolationKind::kLogGap);
  CheckOptions o;
  o.first_version = 0;
  ExpectOk(h, o);
}

TEST(CheckerTest, LogOutOfOrder) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.Put(1, "k", "b", 2, 20, 30);
  h.LogPut(2, "k", "b");
  h.LogPut(1, "k", "a");
  CheckOptions o;
  o.first_version = 0;
  ExpectOnly(h, ViolationKind::kLogOrder, o);
}

TEST(CheckerTest, WrongVersionAcknowledged) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 2, 0, 10);
  h.LogPut(1, "k", "a");
  CheckResult r = RunCheck(h);
  EXPECT_TRUE(r.Has(ViolationKind::kWriteMismatch)) << r.Summary();
}

TEST(CheckerTest, ChangeNoClientIssued) {
  HistoryBuilder h;
  h.LogPut(1, "k", "from-nowhere");
  ExpectOnly(h, ViolationKind::kUnexplainedChange);

  HistoryBuilder d;
  d.LogDelete(1, "k");
  ExpectOk(d);  // deletions are allowed by default (sweeps)
  CheckOptions strict;
  strict.allow_unexplained_delete = false;
  ExpectOnly(d, ViolationKind::kUnexplainedChange, strict);
  // ... unless a delete of unknown outcome explains it, once.
  d.Delete(1, "k", false, 0, 0, 10, Outcome::kUnknown);
  ExpectOk(d, strict);
  d.LogDelete(2, "k");
  ExpectOnly(d, ViolationKind::kUnexplainedChange, strict);
}

TEST(CheckerTest, FailedWriteApplied) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 0, 0, 10, Outcome::kFailed);
  h.LogPut(1, "k", "a");
  ExpectOnly(h, ViolationKind::kFailedWriteApplied);
}

TEST(CheckerTest, VersionOrderAgainstRealTime) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 2, 0, 100);    // acknowledged version 2 at 100
  h.Put(2, "j", "b", 1, 200, 300);  // invoked after that, but got version 1
  h.LogPut(1, "j", "b");
  h.LogPut(2, "k", "a");
  ExpectOnly(h, ViolationKind::kWriteOrder);
}

// ---- Check 2: bounded staleness.

TEST(CheckerTest, ReadOlderThanItsBound) {
  HistoryBuilder h = TwoPuts();
  // "b" completed at 1'000'030; 200 ms later a read with a 100 ms bound still sees "a".
  h.Get(2, "k", "a", 1, 1'200'030, 1'200'040, 100'000);
  ExpectOnly(h, ViolationKind::kStaleRead);
}

TEST(CheckerTest, NotFoundOlderThanItsBound) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.LogPut(1, "k", "a");
  h.Get(2, "k", "", 0, 500'000, 500'010, 100'000);
  ExpectOnly(h, ViolationKind::kStaleRead);
}

TEST(CheckerTest, ReportedStalenessIsABoundToo) {
  HistoryBuilder h = TwoPuts();
  Operation& r = h.Get(2, "k", "a", 1, 1'200'030, 1'200'040, 10'000'000);
  r.staleness_micros = 50'000;  // claims to be 50 ms fresh
  ExpectOnly(h, ViolationKind::kStaleRead);
  CheckOptions o;
  o.check_reported_staleness = false;
  ExpectOk(h, o);
}

TEST(CheckerTest, AllowStaleReadIsHeldToItsReportedStaleness) {
  HistoryBuilder h = TwoPuts();
  Operation& r = h.Get(2, "k", "a", 1, 1'200'030, 1'200'040, 100'000);
  r.stale = true;
  r.staleness_micros = 500'000;
  ExpectOk(h);
  h.ops.back().staleness_micros = 100'000;
  ExpectOnly(h, ViolationKind::kStaleRead);
}

TEST(CheckerTest, ReadOfVersionNotWrittenYet) {
  HistoryBuilder h = TwoPuts();
  h.Get(2, "k", "b", 2, 500'000, 500'010, 100'000);  // "b" was invoked at 1'000'000
  ExpectOnly(h, ViolationKind::kFutureRead);
}

TEST(CheckerTest, ReadOfValueTheLogDoesNotHave) {
  HistoryBuilder h = TwoPuts();
  h.Get(2, "k", "zzz", 2, 2'000'000, 2'000'010);  // wrong value
  h.Get(2, "k", "b", 7, 2'000'000, 2'000'010);    // no such version
  h.Get(2, "j", "a", 1, 2'000'000, 2'000'010);    // another key's version
  CheckOptions o;
  o.check_monotonic_reads = false;
  CheckResult r = RunCheck(h, o);
  EXPECT_EQ(r.count(ViolationKind::kPhantomRead), 3u) << r.Summary();
  EXPECT_EQ(r.total(), 3u) << r.Summary();
}

TEST(CheckerTest, SweepCannotProveStalenessButNeighboursCan) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.LogPut(1, "k", "a", 1'700'000'001);
  h.LogDelete(2, "k");  // a sweep: its commit time is unknown
  h.Get(2, "k", "a", 1, 9'000'000, 9'000'010, 100);
  ExpectOk(h);
  // A later acknowledged write bounds the sweep's commit: versions commit in order.
  h.Put(3, "j", "x", 3, 1'000'000, 1'000'010);
  h.LogPut(3, "j", "x");
  ExpectOnly(h, ViolationKind::kStaleRead);
  CheckOptions o;
  o.ordered_commits = false;
  ExpectOk(h, o);
}

TEST(CheckerTest, ExpiryChecksWithWallClockAnchor) {
  CheckOptions o;
  o.has_wall_offset = true;
  o.wall_offset_micros = 1'700'000'000'000'000;  // monotonic 0 = Unix 1'700'000'000 s
  o.expiry_skew_micros = 1'000'000;
  auto expiring = [] {
    HistoryBuilder h;
    h.Put(1, "k", "a", 1, 0, 10);
    h.LogPut(1, "k", "a", /*expiration=*/1'700'000'100);  // = monotonic 100 s
    return h;
  };
  HistoryBuilder early = expiring();
  early.Get(2, "k", "", 0, 50'000'000, 50'000'010, 1'000'000);  // 50 s before it expires
  ExpectOnly(early, ViolationKind::kStaleRead, o);
  ExpectOk(early);  // without the anchor the key may have expired any time

  HistoryBuilder late = expiring();
  late.Get(2, "k", "a", 1, 110'000'000, 110'000'010);  // 10 s after it expired
  ExpectOnly(late, ViolationKind::kExpiredRead, o);

  HistoryBuilder gone = expiring();
  gone.Get(2, "k", "", 0, 100'500'000, 100'500'010, 0);  // within the skew: fine
  gone.Get(3, "k", "a", 1, 100'500'000, 100'500'010, 0);
  ExpectOk(gone, o);
}

// ---- Check 3: strong reads.

TEST(CheckerTest, StrongReadOfSupersededValue) {
  HistoryBuilder h = TwoPuts();
  h.StrongGet(2, "k", "a", 1, 1'000'031, 1'000'040);
  ExpectOnly(h, ViolationKind::kStrongRead);
}

TEST(CheckerTest, StrongReadAfterAnotherReadSawNewerValue) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.Put(1, "k", "b", 0, 100, 150, Outcome::kUnknown);  // nobody was told it committed
  h.LogPut(1, "k", "a");
  h.LogPut(2, "k", "b");
  h.StrongGet(2, "k", "b", 2, 200, 210);
  h.StrongGet(3, "k", "a", 1, 220, 230);  // but op #2 had already seen "b"
  ExpectOnly(h, ViolationKind::kStrongRead);
  CheckOptions o;
  o.reads_bound_commits = false;
  ExpectOk(h, o);
}

// ---- Check 4: min_version and as_of.

TEST(CheckerTest, MinVersionNotReflected) {
  HistoryBuilder h = TwoPuts();
  Operation& below = h.Get(2, "k", "a", 1, 2'000'000, 2'000'010);
  below.min_version = 2;
  below.as_of_version = 1;
  CheckResult r = RunCheck(h);
  EXPECT_TRUE(r.Has(ViolationKind::kMinVersion)) << r.Summary();
  EXPECT_EQ(r.total(), 2u) << r.Summary();  // as_of below min, and version 2 not reflected

  HistoryBuilder h2 = TwoPuts();
  Operation& lies = h2.Get(2, "k", "a", 1, 2'000'000, 2'000'010);
  lies.min_version = 2;
  lies.as_of_version = 2;
  CheckOptions o;
  o.check_as_of = false;
  ExpectOnly(h2, ViolationKind::kMinVersion, o);
}

TEST(CheckerTest, AsOfContradictsAnswer) {
  HistoryBuilder h = TwoPuts();
  Operation& r = h.Get(2, "k", "a", 1, 2'000'000, 2'000'010);
  r.as_of_version = 2;
  ExpectOnly(h, ViolationKind::kAsOf);
  h.ops.back().as_of_version = 5;  // beyond the head
  CheckResult result = RunCheck(h);
  EXPECT_TRUE(result.Has(ViolationKind::kAsOf)) << result.Summary();
}

TEST(CheckerTest, NeverWrittenKeyBelowMinVersion) {
  HistoryBuilder h = TwoPuts();
  Operation& r = h.Get(2, "nothing", "", 0, 2'000'000, 2'000'010);
  r.min_version = 2;
  r.as_of_version = 1;
  ExpectOnly(h, ViolationKind::kMinVersion);
}

TEST(CheckerTest, NotFoundWithMinVersion) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.LogPut(1, "k", "a");
  Operation& r = h.Get(2, "k", "", 0, 100, 110);
  r.min_version = 1;
  ExpectOnly(h, ViolationKind::kMinVersion);
}

// ---- Check 5: sessions.

TEST(CheckerTest, NonMonotonicClient) {
  HistoryBuilder h = TwoPuts();
  h.Get(2, "k", "b", 2, 1'000'100, 1'000'110, 10'000'000);
  h.Get(2, "k", "a", 1, 1'000'200, 1'000'210, 10'000'000);
  ExpectOnly(h, ViolationKind::kNonMonotonic);
  CheckOptions o;
  o.check_monotonic_reads = false;
  ExpectOk(h, o);
}

TEST(CheckerTest, NotFoundAfterFoundIsNonMonotonic) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.Delete(1, "k", true, 3, 1'000'000, 1'000'010);
  h.Put(1, "j", "x", 2, 20, 30);
  h.LogPut(1, "k", "a");
  h.LogPut(2, "j", "x");
  h.LogDelete(3, "k");
  h.Get(2, "k", "a", 1, 100, 110, 10'000'000);
  h.Get(2, "k", "", 0, 200, 210, 10'000'000);  // absence before version 1: going back
  ExpectOnly(h, ViolationKind::kNonMonotonic);
  h.ops.back().invoke_micros = 1'000'005;  // may have seen the delete
  h.ops.back().complete_micros = 1'000'006;
  ExpectOk(h);
}

TEST(CheckerTest, ReadMissesOwnWrite) {
  HistoryBuilder h = TwoPuts();
  h.Get(1, "k", "a", 1, 1'000'040, 1'000'050, 10'000'000);  // client 1 wrote "b" just before
  ExpectOnly(h, ViolationKind::kReadYourWrites);
  CheckOptions o;
  o.check_read_your_writes = false;
  ExpectOk(h, o);
}

// ---- Reporting.

TEST(CheckerTest, BadInputIsReportedNotChecked) {
  HistoryBuilder h = TwoPuts();
  h.Get(2, "k", "a", 1, 500, 400);
  ExpectOnly(h, ViolationKind::kBadInput);
}

TEST(CheckerTest, MessagesNameOpsVersionsAndTimes) {
  HistoryBuilder h = TwoPuts();
  h.Get(2, "k", "a", 1, 1'200'030, 1'200'040, 100'000);
  CheckResult r = RunCheck(h);
  ASSERT_EQ(r.violations.size(), 1u) << r.Summary();
  const std::string& m = r.violations[0].message;
  EXPECT_NE(m.find("op #2"), std::string::npos) << m;
  EXPECT_NE(m.find("version 1"), std::string::npos) << m;
  EXPECT_NE(m.find("version 2"), std::string::npos) << m;
  EXPECT_NE(m.find("op #1 was acknowledged"), std::string::npos) << m;
  EXPECT_NE(m.find("+1.000030s"), std::string::npos) << m;
  EXPECT_EQ(r.violations[0].ops, (std::vector<int64_t>{2, 1}));
}

TEST(CheckerTest, ViolationsAreCappedPerKindButCounted) {
  HistoryBuilder h = TwoPuts();
  for (int i = 0; i < 50; ++i) h.Get(2 + i, "k", "a", 1, 1'200'030, 1'200'040, 100'000);
  CheckOptions o;
  o.max_violations_per_kind = 5;
  CheckResult r = RunCheck(h, o);
  EXPECT_EQ(r.count(ViolationKind::kStaleRead), 50u);
  EXPECT_EQ(r.violations.size(), 5u);
}

}  // namespace
}  // namespace kv::checker

namespace kv::checker {
namespace {

// Accounts a=60, b=40 at versions 1 and 2; then one commit (client 1, group 7) moves 60 from a
// to b at version 3, written during [1'000'000, 1'000'030].
HistoryBuilder Transfer() {
  HistoryBuilder h;
  h.Put(1, "a", "60", 1, 0, 30);
  h.Put(1, "b", "40", 2, 100, 130);
  h.ops[h.Put(1, "a", "0", 3, 1'000'000, 1'000'030)].group = 7;
  h.ops[h.Put(1, "b", "100", 3, 1'000'000, 1'000'030)].group = 7;
  h.LogPut(1, "a", "60");
  h.LogPut(2, "b", "40");
  h.LogPut(3, "a", "0");
  h.LogPut(3, "b", "100");
  h.log[2].commit_parts = h.log[3].commit_parts = 2;
  return h;
}

TEST(CheckerCommitTest, ACommitIsOneVersionOfSeveralKeysAndWholeReadsPass) {
  HistoryBuilder h = Transfer();
  // A BatchGet before the commit and one after it; a third key absent throughout.
  h.Get(2, "a", "60", 1, 1'000'100, 1'000'110).group = 20;
  h.Get(2, "b", "40", 2, 1'000'100, 1'000'110).group = 20;
  h.Get(2, "c", "", 0, 1'000'100, 1'000'110).group = 20;
  h.Get(3, "a", "0", 3, 1'000'100, 1'000'110).group = 21;
  h.Get(3, "b", "100", 3, 1'000'100, 1'000'110).group = 21;
  h.Get(3, "c", "", 0, 1'000'100, 1'000'110).group = 21;
  CheckResult r = Check(h.ops, h.log);
  EXPECT_TRUE(r.ok()) << r.Summary();
}

TEST(CheckerCommitTest, ABatchGetThatSeesHalfACommitIsReported) {
  HistoryBuilder h = Transfer();
  h.Get(2, "a", "60", 1, 1'000'100, 1'000'110).group = 30;   // before the commit
  h.Get(2, "b", "100", 3, 1'000'100, 1'000'110).group = 30;  // after it
  CheckResult r = Check(h.ops, h.log);
  EXPECT_TRUE(r.Has(ViolationKind::kTornRead)) << r.Summary();
  EXPECT_EQ(r.total(), r.count(ViolationKind::kTornRead)) << r.Summary();
  EXPECT_NE(r.Summary().find("part of a commit"), std::string::npos) << r.Summary();
  // The same two reads made separately (no group) are fine: each alone is a possible state.
  HistoryBuilder apart = Transfer();
  apart.Get(2, "a", "60", 1, 1'000'100, 1'000'110);
  apart.Get(3, "b", "100", 3, 1'000'100, 1'000'110);
  EXPECT_TRUE(Check(apart.ops, apart.log).ok()) << Check(apart.ops, apart.log).Summary();
}

TEST(CheckerCommitTest, ANotFoundThatOnlyAPartialCommitExplainsIsReported) {
  // A commit at version 2 creates "x" and "y" together; a batch sees y but not x.
  HistoryBuilder h;
  h.ops[h.Put(1, "x", "1", 2, 0, 30)].group = 5;
  h.ops[h.Put(1, "y", "2", 2, 0, 30)].group = 5;
  h.Put(1, "z", "0", 1, 0, 10);
  h.LogPut(1, "z", "0");
  h.LogPut(2, "x", "1");
  h.LogPut(2, "y", "2");
  h.log[1].commit_parts = h.log[2].commit_parts = 2;
  h.Get(2, "x", "", 0, 100, 110).group = 9;
  h.Get(2, "y", "2", 2, 100, 110).group = 9;
  CheckResult r = Check(h.ops, h.log);
  EXPECT_TRUE(r.Has(ViolationKind::kTornRead)) << r.Summary();
}

TEST(CheckerCommitTest, PartsOfACommitAtDifferentVersionsAreAMismatch) {
  HistoryBuilder h = Transfer();
  h.ops[3].version = 4;  // "b" acknowledged at another version than "a"
  CheckResult r = Check(h.ops, h.log);
  EXPECT_TRUE(r.Has(ViolationKind::kWriteMismatch) || r.Has(ViolationKind::kLostWrite))
      << r.Summary();
}

}  // namespace
}  // namespace kv::checker

#include "tests/checker/history.h"

#include <gtest/gtest.h>

#include <thread>

namespace kv::checker {
namespace {

TEST(HistoryTest, BeginEndStampsTimesAndResults) {
  ManualClock clock(1'000);
  History h(&clock);
  Operation op;
  op.kind = OpKind::kPut;
  op.key = "k";
  uint64_t id = h.Begin(op);
  clock.AdvanceMicros(250);
  h.End(id, Outcome::kOk, [](Operation& o) { o.version = 9; });
  std::vector<Operation> ops = h.Snapshot();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].invoke_micros, 1'000);
  EXPECT_EQ(ops[0].complete_micros, 1'250);
  EXPECT_EQ(ops[0].version, 9u);
  EXPECT_EQ(ops[0].outcome, Outcome::kOk);
}

TEST(HistoryTest, UnfinishedOperationsAreUnknown) {
  ManualClock clock;
  History h(&clock);
  h.Begin(Operation{});
  std::vector<Operation> ops = h.Snapshot();
  EXPECT_EQ(ops[0].outcome, Outcome::kUnknown);
  EXPECT_EQ(ops[0].complete_micros, kInfiniteFuture);
}

TEST(HistoryTest, ManyThreadsRecord) {
  History h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 1000; ++i) {
        Operation op;
        op.client = t;
        uint64_t id = h.Begin(op);
        h.End(id, Outcome::kOk);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<Operation> ops = h.Snapshot();
  ASSERT_EQ(ops.size(), 4000u);
  for (const Operation& op : ops) {
    EXPECT_EQ(op.outcome, Outcome::kOk);
    EXPECT_LE(op.invoke_micros, op.complete_micros);
  }
}

TEST(HistoryTest, OutcomeForCode) {
  EXPECT_EQ(OutcomeForCode(absl::StatusCode::kOk), Outcome::kOk);
  EXPECT_EQ(OutcomeForCode(absl::StatusCode::kFailedPrecondition), Outcome::kFailed);
  EXPECT_EQ(OutcomeForCode(absl::StatusCode::kInvalidArgument), Outcome::kFailed);
  EXPECT_EQ(OutcomeForCode(absl::StatusCode::kDeadlineExceeded), Outcome::kUnknown);
  EXPECT_EQ(OutcomeForCode(absl::StatusCode::kUnavailable), Outcome::kUnknown);
  EXPECT_EQ(OutcomeForCode(absl::StatusCode::kInternal), Outcome::kUnknown);
}

}  // namespace
}  // namespace kv::checker

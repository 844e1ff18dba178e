#include "tests/checker/jsonl.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "tests/checker/checker.h"
#include "tests/checker/test_util.h"

namespace kv::checker {
namespace {

using testutil::HistoryBuilder;

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/kvcheck_" + std::to_string(getpid()) + "_" + name;
}

TEST(JsonlTest, OperationRoundTrip) {
  Operation op;
  op.client = 7;
  op.node = "edge-a";
  op.kind = OpKind::kGet;
  op.key = std::string("bin\0\xff", 5);
  op.value_hash = 0xfedcba9876543210ULL;
  op.found = true;
  op.version = 12;
  op.as_of_version = 14;
  op.staleness_micros = 1234;
  op.source = Source::kEdgeCache;
  op.stale = true;
  op.min_version = 3;
  op.bound_micros = 100'000;
  op.strong = false;
  op.invoke_micros = -5;
  op.complete_micros = kInfiniteFuture;
  op.outcome = Outcome::kUnknown;
  op.error = "DEADLINE_EXCEEDED: slow";
  std::string line = OperationToJson(op);
  EXPECT_NE(line.find("\"key_hex\":\"62696e00ff\""), std::string::npos) << line;
  absl::StatusOr<Operation> back = OperationFromJson(line);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(OperationToJson(*back), line);
  EXPECT_EQ(back->key, op.key);
  EXPECT_EQ(back->value_hash, op.value_hash);
  EXPECT_EQ(back->complete_micros, kInfiniteFuture);
}

TEST(JsonlTest, LogAndContentRoundTrip) {
  LogEntry e{9, ChangeKind::kInvalidate, "k", false, 0, 1'700'000'000};
  absl::StatusOr<LogEntry> back = LogEntryFromJson(LogEntryToJson(e));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->version, 9u);
  EXPECT_EQ(back->kind, ChangeKind::kInvalidate);
  EXPECT_FALSE(back->has_value_hash);
  EXPECT_EQ(back->expiration, 1'700'000'000);

  NodeEntry n{"k", true, 42, 9, 0};
  absl::StatusOr<NodeEntry> nb = NodeEntryFromJson(NodeEntryToJson(n));
  ASSERT_TRUE(nb.ok()) << nb.status();
  EXPECT_EQ(nb->value_hash, 42u);
  EXPECT_TRUE(nb->has_value_hash);
}

TEST(JsonlTest, BadLinesAreRejectedWithTheirField) {
  EXPECT_FALSE(OperationFromJson("not json").ok());
  EXPECT_FALSE(OperationFromJson("[1,2]").ok());
  absl::StatusOr<Operation> bad = OperationFromJson(R"({"kind":"frobnicate"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("kind"), std::string::npos);
  EXPECT_FALSE(OperationFromJson(R"({"version":-1})").ok());
  EXPECT_FALSE(OperationFromJson(R"({"value":"xyz"})").ok());
  EXPECT_FALSE(LogEntryFromJson(R"({"version":"7"})").ok());
  EXPECT_TRUE(LogEntryFromJson(R"({"version":7,"kind":"delete","key":"k"})").ok());
}

TEST(JsonlTest, SavedRunRechecksTheSame) {
  HistoryBuilder h;
  h.Put(1, "k", "a", 1, 0, 10);
  h.Put(1, "k", "b", 2, 1'000'000, 1'000'030);
  h.LogPut(1, "k", "a");
  h.LogPut(2, "k", "b");
  h.Get(2, "k", "a", 1, 1'200'030, 1'200'040, 100'000);
  std::string hp = TempPath("history.jsonl"), lp = TempPath("log.jsonl");
  ASSERT_TRUE(WriteHistoryFile(hp, h.ops).ok());
  ASSERT_TRUE(WriteLogFile(lp, h.log).ok());
  auto ops = ReadHistoryFile(hp);
  auto log = ReadLogFile(lp);
  ASSERT_TRUE(ops.ok()) << ops.status();
  ASSERT_TRUE(log.ok()) << log.status();
  CheckResult before = Check(h.ops, h.log), after = Check(*ops, *log);
  EXPECT_EQ(after.Summary(), before.Summary());
  EXPECT_TRUE(after.Has(ViolationKind::kStaleRead));

  {
    std::ofstream append(lp, std::ios::app);
    append << "\n{\"version\": 3, \"kind\": \"bogus\"}\n";
  }
  auto broken = ReadLogFile(lp);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find(":4:"), std::string::npos) << broken.status();
  EXPECT_FALSE(ReadLogFile(TempPath("does-not-exist")).ok());
  std::remove(hp.c_str());
  std::remove(lp.c_str());
}

}  // namespace
}  // namespace kv::checker

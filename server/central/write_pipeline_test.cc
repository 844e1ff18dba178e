#include "server/central/write_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/temp_dir.h"

namespace kv::server {
namespace {

class WritePipelineTest : public ::testing::Test {
 protected:
  void Open() {
    StoreOptions options;
    options.path = dir_.path();
    options.sync = true;
    options.disk.min_free_bytes = 64 << 20;
    options.disk.refresh_interval = absl::ZeroDuration();
    options.disk.free_space = [free = free_](const std::string&) -> absl::StatusOr<uint64_t> {
      return free->load();
    };
    auto store = VersionedStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    WritePipelineOptions wp;
    wp.on_commit = [this](const CommittedChanges& changes) {
      for (const auto& c : changes) {
        published_.push_back(c->version());
        published_changes_.push_back(c);
      }
    };
    pipeline_ = std::make_unique<WritePipeline>(store_.get(), &clock_, wp);
  }
  void Close() {
    pipeline_.reset();
    store_.reset();
  }

  WriteResult Run(WriteOp op) {
    std::promise<WriteResult> promise;
    auto future = promise.get_future();
    op.done = [&promise](const WriteResult& r) { promise.set_value(r); };
    pipeline_->Submit(std::move(op));
    return future.get();
  }
  WriteResult Put(const std::string& key, const std::string& value,
                  std::optional<uint64_t> if_version = std::nullopt, int64_t expiration = 0) {
    WriteOp op;
    op.key = key;
    op.value = value;
    op.if_version = if_version;
    op.expiration = expiration;
    return Run(std::move(op));
  }
  // Submits `request` (kept alive in requests_) as a commit; puts never expire.
  WriteOp CommitOp(kvstore::v1::CommitRequest request) {
    requests_.push_back(std::make_unique<kvstore::v1::CommitRequest>(std::move(request)));
    WriteOp op;
    op.kind = WriteOp::Kind::kCommit;
    op.commit = requests_.back().get();
    op.commit_expirations.assign(op.commit->mutations_size(), 0);
    return op;
  }
  WriteResult Commit(kvstore::v1::CommitRequest request) {
    return Run(CommitOp(std::move(request)));
  }
  // The value and version of `key`, or nullopt when it has no record.
  std::optional<std::pair<std::string, uint64_t>> Record(const std::string& key) {
    PinnedRecord record;
    auto found = store_->Get(key, &record);
    EXPECT_TRUE(found.ok());
    if (!found.ok() || !*found) return std::nullopt;
    return std::make_pair(std::string(record.view.value), record.view.version);
  }
  WriteResult Delete(const std::string& key, std::optional<uint64_t> if_version = std::nullopt) {
    WriteOp op;
    op.kind = WriteOp::Kind::kDelete;
    op.key = key;
    op.if_version = if_version;
    return Run(std::move(op));
  }

  testing::TempDir dir_;
  // What the store's filesystem has free (the test may lower it).
  std::shared_ptr<std::atomic<uint64_t>> free_ =
      std::make_shared<std::atomic<uint64_t>>(1ull << 40);
  ManualClock clock_{1'000'000, 1'700'000'000};
  std::vector<std::unique_ptr<kvstore::v1::CommitRequest>> requests_;
  std::unique_ptr<VersionedStore> store_;
  std::unique_ptr<WritePipeline> pipeline_;
  std::vector<uint64_t> published_;  // only touched on the writer thread, read after it
  CommittedChanges published_changes_;
};

TEST_F(WritePipelineTest, VersionsAreConsecutiveAndNeverReusedAcrossRestarts) {
  Open();
  EXPECT_EQ(Put("a", "1").version, 1u);
  EXPECT_EQ(Put("b", "2").version, 2u);
  EXPECT_EQ(Put("a", "3").version, 3u);
  Close();
  Open();
  EXPECT_EQ(Put("c", "4").version, 4u);
  EXPECT_EQ(store_->head_version(), 4u);
}

TEST_F(WritePipelineTest, ConcurrentWritersShareBatchesAndGetDistinctVersions) {
  Open();
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<uint64_t> versions;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = Put("k" + std::to_string(t) + "-" + std::to_string(i), "v");
        ASSERT_TRUE(r.status.ok()) << r.status;
        std::lock_guard<std::mutex> l(mu);
        EXPECT_TRUE(versions.insert(r.version).second) << "duplicate version " << r.version;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(versions.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(*versions.begin(), 1u);
  EXPECT_EQ(*versions.rbegin(), uint64_t{kThreads * kPerThread});
  // Fewer synced batches than writes: group commit did its job.
  EXPECT_LT(pipeline_->batches(), uint64_t{kThreads * kPerThread});
  pipeline_->Stop();
  ASSERT_EQ(published_.size(), versions.size());
  for (size_t i = 0; i < published_.size(); ++i) EXPECT_EQ(published_[i], i + 1);
}

TEST_F(WritePipelineTest, ConditionalPutAndDelete) {
  Open();
  auto created = Put("k", "v1", /*if_version=*/0);
  ASSERT_TRUE(created.status.ok());
  auto again = Put("k", "v2", /*if_version=*/0);
  EXPECT_EQ(again.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status.message().find("current version: 1"), std::string::npos) << again.status;
  auto wrong = Put("k", "v2", /*if_version=*/7);
  EXPECT_EQ(wrong.status.code(), absl::StatusCode::kFailedPrecondition);
  auto right = Put("k", "v2", /*if_version=*/1);
  ASSERT_TRUE(right.status.ok());
  EXPECT_EQ(right.version, 2u);
  EXPECT_EQ(Delete("k", /*if_version=*/1).status.code(), absl::StatusCode::kFailedPrecondition);
  auto deleted = Delete("k", /*if_version=*/2);
  ASSERT_TRUE(deleted.status.ok());
  EXPECT_TRUE(deleted.applied);
  EXPECT_EQ(deleted.version, 3u);
  // Failed conditions wrote nothing.
  EXPECT_EQ(store_->head_version(), 3u);
  EXPECT_EQ(store_->log().entries(), 3u);
}

TEST_F(WritePipelineTest, DeletingAMissingKeyWritesNothing) {
  Open();
  Put("a", "1");
  auto r = Delete("missing");
  ASSERT_TRUE(r.status.ok());
  EXPECT_FALSE(r.applied);
  EXPECT_EQ(r.version, 1u);  // the head it was judged at
  EXPECT_EQ(store_->head_version(), 1u);
}

TEST_F(WritePipelineTest, AnExpiredKeyIsAbsentToConditions) {
  Open();
  ASSERT_TRUE(Put("session", "x", std::nullopt, clock_.UnixSeconds() + 10).status.ok());
  EXPECT_EQ(Put("session", "y", 0).status.code(), absl::StatusCode::kFailedPrecondition);
  clock_.SetUnixSeconds(clock_.UnixSeconds() + 10);
  auto r = Put("session", "y", 0);
  EXPECT_TRUE(r.status.ok()) << r.status;
}

TEST_F(WritePipelineTest, ExpireDeletesOnlyTheWriteThatExpired) {
  Open();
  ASSERT_TRUE(Put("k", "old", std::nullopt, clock_.UnixSeconds() + 5).status.ok());  // v1
  ASSERT_TRUE(Put("k", "new").status.ok());                                          // v2
  WriteOp stale;
  stale.kind = WriteOp::Kind::kExpire;
  stale.key = "k";
  stale.if_version = 1;
  EXPECT_EQ(Run(std::move(stale)).status.code(), absl::StatusCode::kFailedPrecondition);
  WriteOp current;
  current.kind = WriteOp::Kind::kExpire;
  current.key = "k";
  current.if_version = 2;
  auto r = Run(std::move(current));
  ASSERT_TRUE(r.status.ok());
  EXPECT_TRUE(r.applied);
  EXPECT_EQ(r.version, 3u);
}

TEST_F(WritePipelineTest, ConditionsSeeEarlierWritesInTheSameBatch) {
  Open();
  // Submit many create-if-absent writes for one key at once: exactly one may win.
  constexpr int kWriters = 50;
  std::vector<std::promise<WriteResult>> promises(kWriters);
  for (int i = 0; i < kWriters; ++i) {
    WriteOp op;
    op.key = "lock";
    op.value = std::to_string(i);
    op.if_version = 0;
    op.done = [&promises, i](const WriteResult& r) { promises[i].set_value(r); };
    pipeline_->Submit(std::move(op));
  }
  int winners = 0;
  for (auto& p : promises) winners += p.get_future().get().status.ok() ? 1 : 0;
  EXPECT_EQ(winners, 1);
}

TEST_F(WritePipelineTest, StopAnswersQueuedWritesThenRefusesNewOnes) {
  Open();
  std::atomic<int> answered{0};
  for (int i = 0; i < 100; ++i) {
    WriteOp op;
    op.key = "k" + std::to_string(i);
    op.done = [&answered](const WriteResult& r) {
      EXPECT_TRUE(r.status.ok());
      answered.fetch_add(1);
    };
    pipeline_->Submit(std::move(op));
  }
  pipeline_->Stop();
  EXPECT_EQ(answered.load(), 100);
  auto late = Put("late", "x");
  EXPECT_EQ(late.status.code(), absl::StatusCode::kUnavailable);
}

TEST_F(WritePipelineTest, WritesBelowTheDiskReserveAreRefusedNotUnknown) {
  Open();
  ASSERT_TRUE(Put("a", "1").status.ok());
  free_->store(10 << 20);
  WriteResult refused = Put("a", "2");
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status)) << refused.status;
  EXPECT_NE(refused.status.message().find("below --min-free-disk 64 MiB"), std::string::npos)
      << refused.status;
  EXPECT_EQ(refused.version, 0u);
  EXPECT_EQ(store_->head_version(), 1u);
  EXPECT_EQ(published_.size(), 1u);
  free_->store(1ull << 40);
  WriteResult resumed = Put("a", "3");
  ASSERT_TRUE(resumed.status.ok()) << resumed.status;
  EXPECT_EQ(resumed.version, 2u);
}

// A commit request from a compact description: checks "key@7" or "key@absent"; mutations
// "put key value", "delete key", "add key delta".
kvstore::v1::CommitRequest MakeCommit(std::vector<std::string> checks,
                                      std::vector<std::string> mutations) {
  kvstore::v1::CommitRequest request;
  for (const auto& c : checks) {
    auto at = c.find('@');
    auto* check = request.add_checks();
    check->set_key(c.substr(0, at));
    if (c.substr(at + 1) == "absent") {
      check->set_absent(true);
    } else {
      check->set_version(std::stoull(c.substr(at + 1)));
    }
  }
  for (const auto& m : mutations) {
    std::istringstream in(m);
    std::string op, key, arg;
    in >> op >> key >> arg;
    auto* mutation = request.add_mutations();
    if (op == "put") {
      mutation->mutable_put()->set_key(key);
      mutation->mutable_put()->set_value(arg);
    } else if (op == "delete") {
      mutation->mutable_delete_()->set_key(key);
    } else {
      mutation->mutable_add()->set_key(key);
      mutation->mutable_add()->set_delta(std::stoll(arg));
    }
  }
  return request;
}

TEST_F(WritePipelineTest, ACommitAppliesEveryMutationAtOneVersion) {
  Open();
  ASSERT_TRUE(Put("a", "old").status.ok());
  ASSERT_TRUE(Put("gone", "x").status.ok());
  WriteResult r = Commit(MakeCommit({"a@1", "new@absent"}, {"put a 10", "put new 20", "delete gone",
                                                            "add hits 5", "delete never-there"}));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.version, 3u);
  EXPECT_EQ(r.counters, (std::vector<int64_t>{5}));
  EXPECT_EQ(Record("a"), std::make_pair(std::string("10"), uint64_t{3}));
  EXPECT_EQ(Record("new"), std::make_pair(std::string("20"), uint64_t{3}));
  EXPECT_EQ(Record("hits"), std::make_pair(std::string("\x05\0\0\0\0\0\0\0", 8), uint64_t{3}));
  EXPECT_EQ(Record("gone"), std::nullopt);
  EXPECT_EQ(store_->head_version(), 3u);
  // One change, one version, one log entry: the parts in the order given, no-op delete left out.
  ASSERT_EQ(published_changes_.size(), 3u);
  const kvstore::v1::Change& c = *published_changes_.back();
  EXPECT_EQ(c.kind(), kvstore::v1::Change::KIND_COMMIT);
  EXPECT_EQ(c.version(), 3u);
  EXPECT_TRUE(c.has_checksum());
  EXPECT_EQ(c.checksum(), store_->checksum_state().checksum);
  ASSERT_EQ(c.parts_size(), 4);
  EXPECT_EQ(c.parts(0).key(), "a");
  EXPECT_EQ(c.parts(2).kind(), kvstore::v1::Change::KIND_DELETE);
  EXPECT_EQ(c.parts(3).key(), "hits");
  for (const auto& part : c.parts()) EXPECT_EQ(part.version(), 0u);
  std::vector<kvstore::v1::Change> logged;
  ASSERT_TRUE(store_->log().Read(3, 10, 1 << 20, &logged).ok());
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].parts_size(), 4);
  // The checksum after the commit is the one a full recomputation gets.
  auto scan = store_->ScanChecksum();
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->recomputed, scan->persisted);
}

TEST_F(WritePipelineTest, AFailedCheckAppliesNothingAndNamesTheKeyAndItsVersion) {
  Open();
  ASSERT_TRUE(Put("acct/a", "1").status.ok());
  ASSERT_TRUE(Put("acct/a", "2").status.ok());
  WriteResult r = Commit(MakeCommit({"acct/a@1"}, {"put acct/a 3", "put acct/b 4"}));
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status)) << r.status;
  EXPECT_NE(r.status.message().find("'acct/a' is at version 2"), std::string::npos) << r.status;
  EXPECT_NE(r.status.message().find("current version: 2"), std::string::npos) << r.status;
  WriteResult absent = Commit(MakeCommit({"acct/b@absent", "acct/a@absent"}, {"put acct/b 4"}));
  EXPECT_TRUE(absl::IsFailedPrecondition(absent.status)) << absent.status;
  EXPECT_NE(absent.status.message().find("'acct/a' is at version 2 (the commit wanted it to be "
                                         "absent)"),
            std::string::npos)
      << absent.status;
  WriteResult missing = Commit(MakeCommit({"acct/z@4"}, {"put acct/b 4"}));
  EXPECT_NE(missing.status.message().find("'acct/z' does not exist"), std::string::npos)
      << missing.status;
  EXPECT_EQ(Record("acct/b"), std::nullopt);
  EXPECT_EQ(Record("acct/a"), std::make_pair(std::string("2"), uint64_t{2}));
  EXPECT_EQ(store_->head_version(), 2u);
  EXPECT_EQ(published_.size(), 2u);
}

TEST_F(WritePipelineTest, AddCountsAbsentAsZeroAndRefusesAValueThatIsNotACounter) {
  Open();
  EXPECT_EQ(Commit(MakeCommit({}, {"add n 7"})).counters, (std::vector<int64_t>{7}));
  EXPECT_EQ(Commit(MakeCommit({}, {"add n -10"})).counters, (std::vector<int64_t>{-3}));
  EXPECT_EQ(Record("n")->first, std::string("\xfd\xff\xff\xff\xff\xff\xff\xff", 8));
  ASSERT_TRUE(Put("text", "abc").status.ok());
  WriteResult r = Commit(MakeCommit({}, {"put other 1", "add text 1"}));
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status)) << r.status;
  EXPECT_NE(r.status.message().find("'text': its value is 3 bytes, not an 8-byte"),
            std::string::npos)
      << r.status;
  EXPECT_EQ(Record("other"), std::nullopt);
  EXPECT_EQ(store_->head_version(), 3u);
  // A counter written earlier in the same commit group is read from the group, not the store.
  WriteOp first = CommitOp(MakeCommit({}, {"add m 1"}));
  WriteOp second = CommitOp(MakeCommit({}, {"add m 1"}));
  std::promise<WriteResult> p1, p2;
  first.done = [&p1](const WriteResult& r) { p1.set_value(r); };
  second.done = [&p2](const WriteResult& r) { p2.set_value(r); };
  pipeline_->Submit(std::move(first));
  pipeline_->Submit(std::move(second));
  EXPECT_EQ(p1.get_future().get().counters, (std::vector<int64_t>{1}));
  EXPECT_EQ(p2.get_future().get().counters, (std::vector<int64_t>{2}));
}

// A commit is one WriteBatch with its log entry and head: refused by the store (here: below the
// disk reserve), none of its parts is there, and nothing was logged or published.
TEST_F(WritePipelineTest, ACommitTheStoreRefusesLeavesNoPart) {
  Open();
  ASSERT_TRUE(Put("a", "1").status.ok());
  free_->store(10 << 20);
  WriteResult refused = Commit(MakeCommit({}, {"put a 2", "put b 3", "add n 1"}));
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status)) << refused.status;
  EXPECT_EQ(refused.version, 0u);
  EXPECT_EQ(Record("a"), std::make_pair(std::string("1"), uint64_t{1}));
  EXPECT_EQ(Record("b"), std::nullopt);
  EXPECT_EQ(Record("n"), std::nullopt);
  EXPECT_EQ(store_->head_version(), 1u);
  EXPECT_EQ(published_.size(), 1u);
  // After a restart too (nothing of it reached the WAL).
  Close();
  free_->store(1ull << 40);
  Open();
  EXPECT_EQ(Record("b"), std::nullopt);
  EXPECT_EQ(store_->head_version(), 1u);
  WriteResult resumed = Commit(MakeCommit({}, {"put a 2", "put b 3"}));
  ASSERT_TRUE(resumed.status.ok()) << resumed.status;
  EXPECT_EQ(resumed.version, 2u);
}

TEST_F(WritePipelineTest, AFailedCommitLeavesNothingForLaterWritesInTheSameBatch) {
  Open();
  // Submitted together, so they usually share a batch: the commit fails its check, and the
  // create-if-absent after it must still find the key absent.
  for (int round = 0; round < 20; ++round) {
    const std::string key = "k" + std::to_string(round);
    WriteOp commit = CommitOp(MakeCommit({"nothing@3"}, {"put " + key + " c"}));
    WriteOp put;
    put.key = key;
    put.value = "p";
    put.if_version = 0;
    std::promise<WriteResult> pc, pp;
    commit.done = [&pc](const WriteResult& r) { pc.set_value(r); };
    put.done = [&pp](const WriteResult& r) { pp.set_value(r); };
    pipeline_->Submit(std::move(commit));
    pipeline_->Submit(std::move(put));
    EXPECT_TRUE(absl::IsFailedPrecondition(pc.get_future().get().status));
    EXPECT_TRUE(pp.get_future().get().status.ok());
    EXPECT_EQ(Record(key)->first, "p");
  }
}

}  // namespace
}  // namespace kv::server

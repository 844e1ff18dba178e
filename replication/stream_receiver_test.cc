#include "replication/stream_receiver.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/clock.h"
#include "replication/testing/fake_applier.h"

namespace kv::replication {
namespace {

using kvstore::v1::UpstreamMessage;
using testing::AddPuts;
using testing::FakeApplier;
using testing::MakePut;

constexpr char kCluster[] = "cluster-a";

UpstreamMessage Start(uint64_t head, const std::string& cluster = kCluster) {
  UpstreamMessage m;
  m.mutable_start()->set_head_version(head);
  m.mutable_start()->set_cluster_id(cluster);
  m.mutable_start()->set_node_id("upstream-1");
  return m;
}

UpstreamMessage Puts(uint64_t from, uint64_t to) {
  UpstreamMessage m;
  AddPuts(from, to, &m);
  return m;
}

UpstreamMessage Versions(std::vector<uint64_t> versions) {
  UpstreamMessage m;
  for (uint64_t v : versions) *m.add_changes() = MakePut(v, "k", "v");
  return m;
}

class StreamReceiverTest : public ::testing::Test {
 protected:
  // A receiver for a stream that asked for `from_version`, over an applier at `applied`.
  void Make(uint64_t from_version, FakeApplier::Options applier = {}) {
    if (applier.cluster_id.empty() && applier.holds_everything) applier.cluster_id = kCluster;
    applier_ = std::make_unique<FakeApplier>(applier);
    receiver_ = std::make_unique<StreamReceiver>(applier_.get(), applier_->head(), &freshness_,
                                                 from_version,
                                                 [this](uint64_t v) { on_applied_.push_back(v); });
  }
  absl::Status Handle(UpstreamMessage m) { return receiver_->Handle(&m); }

  ManualClock clock_;
  FreshnessTracker freshness_{&clock_};
  std::unique_ptr<FakeApplier> applier_;
  std::unique_ptr<StreamReceiver> receiver_;
  std::vector<uint64_t> on_applied_;
};

TEST_F(StreamReceiverTest, DataBeforeTheStartIsRefused) {
  Make(1);
  absl::Status s = Handle(Puts(1, 3));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_FALSE(receiver_->started());
  EXPECT_EQ(applier_->apply_calls(), 0);
  EXPECT_EQ(applier_->applied_version(), 0u);

  // A lone answer before the start is refused as well and proves nothing.
  UpstreamMessage pong;
  pong.mutable_pong()->set_t0_micros(clock_.MonotonicMicros());
  pong.mutable_pong()->set_head_version(0);
  EXPECT_EQ(Handle(pong).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(freshness_.StalenessMicros(), FreshnessTracker::kNeverFresh);
}

TEST_F(StreamReceiverTest, ASecondStartIsRefused) {
  Make(1);
  ASSERT_TRUE(Handle(Start(0)).ok());
  EXPECT_TRUE(receiver_->started());
  EXPECT_TRUE(receiver_->resumed());
  EXPECT_EQ(receiver_->start().node_id(), "upstream-1");
  UpstreamMessage again = Start(5);
  AddPuts(1, 2, &again);
  EXPECT_EQ(Handle(again).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(applier_->apply_calls(), 0);
}

TEST_F(StreamReceiverTest, AppliesConsecutiveBatchesAndCountsThem) {
  Make(1);
  UpstreamMessage first = Start(3);
  AddPuts(1, 3, &first);  // the start and the first changes may share one message
  ASSERT_TRUE(Handle(first).ok());
  ASSERT_TRUE(Handle(Puts(4, 4)).ok());
  ASSERT_TRUE(Handle(UpstreamMessage()).ok());  // an empty message is harmless
  ASSERT_TRUE(Handle(Puts(5, 10)).ok());
  EXPECT_EQ(applier_->applied_version(), 10u);
  ASSERT_EQ(applier_->batches().size(), 3u);
  EXPECT_EQ(applier_->batches()[0].size(), 3u);
  EXPECT_EQ(applier_->batches()[2].size(), 6u);
  EXPECT_EQ(applier_->data().at("k7"), "v7");
  EXPECT_EQ(receiver_->changes_applied(), 10u);
  EXPECT_EQ(receiver_->batches_applied(), 3u);
  EXPECT_EQ(on_applied_, (std::vector<uint64_t>{3, 4, 10}));
  EXPECT_EQ(applier_->out_of_order(), 0);
}

TEST_F(StreamReceiverTest, ResumesAfterTheAppliedVersion) {
  Make(41, FakeApplier::Options().set_applied(40));
  ASSERT_TRUE(Handle(Start(45)).ok());
  EXPECT_EQ(Handle(Puts(40, 42)).code(), absl::StatusCode::kDataLoss);  // 40 is a duplicate
  ASSERT_TRUE(Handle(Puts(41, 45)).ok());
  EXPECT_EQ(applier_->applied_version(), 45u);
}

TEST_F(StreamReceiverTest, AGapAppliesNothingOfItsBatch) {
  Make(1);
  ASSERT_TRUE(Handle(Start(0)).ok());
  ASSERT_TRUE(Handle(Puts(1, 2)).ok());
  // 3, 4 are fine but 6 skips 5: the whole batch is refused, 3 and 4 included.
  absl::Status s = Handle(Versions({3, 4, 6}));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("expected version 5"), std::string::npos) << s;
  EXPECT_EQ(applier_->applied_version(), 2u);
  EXPECT_EQ(applier_->apply_calls(), 1);
  // A batch that starts beyond the next version.
  EXPECT_EQ(Handle(Versions({5, 6})).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(applier_->applied_version(), 2u);
  EXPECT_EQ(on_applied_, (std::vector<uint64_t>{2}));
  EXPECT_EQ(receiver_->changes_applied(), 2u);
}

TEST_F(StreamReceiverTest, AReorderingAppliesNothing) {
  Make(1);
  ASSERT_TRUE(Handle(Start(0)).ok());
  EXPECT_EQ(Handle(Versions({2, 1})).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Handle(Versions({1, 3, 2})).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(applier_->apply_calls(), 0);
}

TEST_F(StreamReceiverTest, DuplicatesAreRefused) {
  Make(1);
  ASSERT_TRUE(Handle(Start(0)).ok());
  ASSERT_TRUE(Handle(Puts(1, 3)).ok());
  EXPECT_EQ(Handle(Versions({3})).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Handle(Versions({4, 4})).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Handle(Versions({1, 2, 3, 4})).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(applier_->apply_calls(), 1);
  EXPECT_EQ(applier_->applied_version(), 3u);
}

TEST_F(StreamReceiverTest, MalformedChangesAreRefusedWithoutApplyingAny) {
  Make(1);
  ASSERT_TRUE(Handle(Start(0)).ok());
  UpstreamMessage empty_key = Puts(1, 2);
  empty_key.mutable_changes(1)->clear_key();
  EXPECT_EQ(Handle(empty_key).code(), absl::StatusCode::kDataLoss);
  UpstreamMessage unspecified = Puts(1, 2);
  unspecified.mutable_changes(1)->set_kind(kvstore::v1::Change::KIND_UNSPECIFIED);
  EXPECT_EQ(Handle(unspecified).code(), absl::StatusCode::kDataLoss);
  UpstreamMessage unknown = Puts(1, 2);
  unknown.mutable_changes(0)->set_kind(static_cast<kvstore::v1::Change::Kind>(42));
  EXPECT_EQ(Handle(unknown).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(applier_->apply_calls(), 0);
  // Deletes and invalidations are fine.
  UpstreamMessage kinds = Puts(1, 1);
  *kinds.add_changes() = testing::MakeDelete(2, "k1");
  auto* inv = kinds.add_changes();
  *inv = MakePut(3, "big", "");
  inv->set_kind(kvstore::v1::Change::KIND_INVALIDATE);
  inv->set_value_size(1 << 20);
  EXPECT_TRUE(Handle(kinds).ok());
  EXPECT_EQ(applier_->applied_version(), 3u);
}

TEST_F(StreamReceiverTest, ACommitIsOneChangeAndAMalformedOneIsRefusedWithItsBatch) {
  Make(1);
  ASSERT_TRUE(Handle(Start(0)).ok());
  auto commit_of = [](std::vector<std::string> keys) {
    UpstreamMessage m;
    *m.add_changes() = MakePut(1, "before", "v");
    kvstore::v1::Change* c = m.add_changes();
    c->set_version(2);
    c->set_kind(kvstore::v1::Change::KIND_COMMIT);
    for (const auto& key : keys) *c->add_parts() = MakePut(0, key, "v");
    return m;
  };
  EXPECT_EQ(Handle(commit_of({})).code(), absl::StatusCode::kDataLoss);               // no parts
  EXPECT_EQ(Handle(commit_of({"a", ""})).code(), absl::StatusCode::kDataLoss);        // empty key
  EXPECT_EQ(Handle(commit_of({"a", "b", "a"})).code(), absl::StatusCode::kDataLoss);  // twice
  UpstreamMessage nested = commit_of({"a"});
  nested.mutable_changes(1)->mutable_parts(0)->set_kind(kvstore::v1::Change::KIND_COMMIT);
  EXPECT_EQ(Handle(nested).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(applier_->apply_calls(), 0);
  // A well-formed commit (its outer key is empty) is applied as one change at one version.
  EXPECT_TRUE(Handle(commit_of({"a", "b"})).ok());
  EXPECT_EQ(applier_->applied_version(), 2u);
}

TEST_F(StreamReceiverTest, ResetIsAbortedWithItsDetailsAndAppliesNothing) {
  Make(5, FakeApplier::Options().set_applied(4));
  ASSERT_TRUE(Handle(Start(10)).ok());
  UpstreamMessage m = Puts(5, 6);
  m.mutable_reset()->set_oldest_version(100);
  m.mutable_reset()->set_head_version(200);
  m.mutable_reset()->set_reason("trimmed");
  m.mutable_reset()->set_cluster_id(kCluster);
  absl::Status s = Handle(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
  EXPECT_NE(s.message().find("trimmed"), std::string::npos);
  EXPECT_EQ(receiver_->reset().oldest_version(), 100u);
  EXPECT_EQ(receiver_->reset().head_version(), 200u);
  EXPECT_EQ(applier_->apply_calls(), 0);

  // A RESET as the first message (no start) is still a RESET, not a protocol error.
  Make(5, FakeApplier::Options().set_applied(4));
  UpstreamMessage only;
  only.mutable_reset()->set_reason("too old");
  EXPECT_EQ(Handle(only).code(), absl::StatusCode::kAborted);
}

TEST_F(StreamReceiverTest, FromVersionZeroStartsAtTheUpstreamsHead) {
  Make(0, FakeApplier::Options().set_holds_everything(false).set_applied(7).set_cluster_id("old"));
  // An answer pending from the old history must not count in the new one.
  freshness_.OnPong(clock_.MonotonicMicros(), 60, 0, 7);
  UpstreamMessage m = Start(50, "new-cluster");
  AddPuts(51, 52, &m);
  ASSERT_TRUE(Handle(m).ok());
  EXPECT_FALSE(receiver_->resumed());
  ASSERT_EQ(applier_->start_froms().size(), 1u);
  EXPECT_EQ(applier_->start_froms()[0].first, 50u);
  EXPECT_EQ(applier_->start_froms()[0].second, "new-cluster");
  EXPECT_EQ(applier_->applied_version(), 52u);
  EXPECT_EQ(on_applied_, (std::vector<uint64_t>{50, 52}));
  freshness_.OnApplied(60);
  EXPECT_EQ(freshness_.StalenessMicros(), FreshnessTracker::kNeverFresh);
}

TEST_F(StreamReceiverTest, AFailedStartFromIsReported) {
  Make(0, FakeApplier::Options().set_holds_everything(false));
  applier_->FailNextStartFrom(absl::FailedPreconditionError("cannot drop the cache"));
  absl::Status s = Handle(Start(50));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(on_applied_.empty());
}

TEST_F(StreamReceiverTest, ADownstreamHoldingEveryKeyNeverStartsAtTheHead) {
  Make(0, FakeApplier::Options().set_holds_everything(true));
  absl::Status s = Handle(Start(50));
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_TRUE(applier_->start_froms().empty());
  EXPECT_TRUE(on_applied_.empty());
}

TEST_F(StreamReceiverTest, APongCountsOnlyAfterTheChangesBeforeIt) {
  Make(1);
  ASSERT_TRUE(Handle(Start(0)).ok());
  int64_t t0 = freshness_.PingTime();
  clock_.AdvanceMicros(20'000);
  // Changes 1..3 then an answer with head 3 in the same message: fresh as of t0.
  UpstreamMessage m = Puts(1, 3);
  m.mutable_pong()->set_t0_micros(t0);
  m.mutable_pong()->set_head_version(3);
  ASSERT_TRUE(Handle(m).ok());
  EXPECT_EQ(freshness_.FreshAsOfMicros(), t0);
  EXPECT_EQ(freshness_.StalenessMicros(), 20'000);

  // An answer whose head (6) is beyond what this message brings (5): it waits for 6.
  int64_t t1 = freshness_.PingTime();
  clock_.AdvanceMicros(10'000);
  UpstreamMessage ahead = Puts(4, 5);
  ahead.mutable_pong()->set_t0_micros(t1);
  ahead.mutable_pong()->set_head_version(6);
  ahead.mutable_pong()->set_upstream_staleness_micros(1'000);
  ASSERT_TRUE(Handle(ahead).ok());
  EXPECT_EQ(freshness_.FreshAsOfMicros(), t0);
  ASSERT_TRUE(Handle(Puts(6, 6)).ok());
  EXPECT_EQ(freshness_.FreshAsOfMicros(), t1 - 1'000);
}

TEST_F(StreamReceiverTest, APongInARefusedMessageIsIgnored) {
  Make(1);
  ASSERT_TRUE(Handle(Start(0)).ok());
  UpstreamMessage m = Versions({2});
  m.mutable_pong()->set_t0_micros(freshness_.PingTime());
  m.mutable_pong()->set_head_version(0);
  EXPECT_EQ(Handle(m).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(freshness_.StalenessMicros(), FreshnessTracker::kNeverFresh);
}

TEST_F(StreamReceiverTest, AnotherClustersHistoryIsRefused) {
  Make(11, FakeApplier::Options().set_applied(10).set_cluster_id("cluster-a"));
  UpstreamMessage m = Start(20, "cluster-b");
  AddPuts(11, 12, &m);
  absl::Status s = Handle(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("cluster-b"), std::string::npos) << s;
  EXPECT_EQ(applier_->apply_calls(), 0);

  // Either side not knowing its cluster yet is not a mismatch.
  Make(11, FakeApplier::Options().set_applied(10).set_cluster_id("cluster-a"));
  EXPECT_TRUE(Handle(Start(20, "")).ok());
}

TEST_F(StreamReceiverTest, AnApplierFailureIsPassedOnAndNotCounted) {
  Make(1);
  ASSERT_TRUE(Handle(Start(0)).ok());
  applier_->FailNextApply(absl::InternalError("disk full"));
  UpstreamMessage m = Puts(1, 2);
  m.mutable_pong()->set_t0_micros(freshness_.PingTime());
  m.mutable_pong()->set_head_version(0);
  absl::Status s = Handle(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_EQ(receiver_->changes_applied(), 0u);
  EXPECT_EQ(receiver_->batches_applied(), 0u);
  EXPECT_TRUE(on_applied_.empty());
  EXPECT_EQ(freshness_.StalenessMicros(), FreshnessTracker::kNeverFresh);
}

}  // namespace
}  // namespace kv::replication

#include "server/watch/watch_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "absl/time/clock.h"
#include "replication/testing/fake_applier.h"
#include "server/watch/watch_test_sink.h"

namespace kv::server {
namespace {

using kvstore::v1::Change;
using kvstore::v1::WatchEvent;
using kvstore::v1::WatchRequest;
using testing::RecordingSink;

std::shared_ptr<const Change> Put(uint64_t version, const std::string& key,
                                  const std::string& value) {
  return std::make_shared<Change>(kv::testing::MakePut(version, key, value));
}

std::shared_ptr<const Change> Del(uint64_t version, const std::string& key) {
  return std::make_shared<Change>(kv::testing::MakeDelete(version, key));
}

WatchRequest Prefix(const std::string& prefix, uint64_t start = 0) {
  WatchRequest r;
  r.set_prefix(prefix);
  r.set_start_version(start);
  return r;
}

class WatchHubTest : public ::testing::Test {
 protected:
  void Open(WatchHubOptions options = {}, uint64_t applied = 0) {
    options.node_id = "n1";
    hub_ = std::make_unique<WatchHub>(Clock::Real(), options, nullptr, [] { return 7; });
    hub_->Start(applied);
  }
  void TearDown() override {
    if (hub_) {
      hub_->FinishAll();
      hub_->Stop();
    }
  }
  // A sink that lives until the hub is stopped (as a transport's does until OnGone).
  RecordingSink& Sink(bool ack = true) {
    sinks_.push_back(std::make_unique<RecordingSink>(hub_.get(), ack));
    return *sinks_.back();
  }
  std::optional<WatchEnd> Add(RecordingSink* sink, const WatchRequest& request) {
    auto filter = WatchFilter::Make(request, 512, /*hide_reserved=*/true, 64 << 10);
    EXPECT_TRUE(filter.ok()) << filter.status();
    return hub_->Add(sink, request, *std::move(filter));
  }
  void Append(std::vector<std::shared_ptr<const Change>> changes) { hub_->Append(changes); }
  // Waits for the first message (the watch is registered and names its start).
  static void AwaitStart(RecordingSink& sink) {
    ASSERT_TRUE(sink.WaitFor([](const auto& m, bool) { return !m.empty(); }));
  }

  std::vector<std::unique_ptr<RecordingSink>> sinks_;  // destroyed after hub_
  std::unique_ptr<WatchHub> hub_;
};

TEST_F(WatchHubTest, SendsMatchingChangesInVersionOrderAfterAStartMessage) {
  Open({}, 10);
  RecordingSink& sink = Sink();
  ASSERT_FALSE(Add(&sink, Prefix("a/")));
  AwaitStart(sink);
  auto first = sink.messages().front();
  EXPECT_EQ(first.applied_version(), 10u);
  EXPECT_EQ(first.events_size(), 0);
  EXPECT_EQ(first.node_id(), "n1");
  EXPECT_EQ(first.staleness_micros(), 7);

  Append({Put(11, "a/1", "x"), Put(12, "b/1", "y"), Put(13, "a/2", "z")});
  Append({Del(14, "a/1")});
  ASSERT_TRUE(sink.WaitForEvents(3));
  auto events = sink.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].key(), "a/1");
  EXPECT_EQ(events[0].version(), 11u);
  EXPECT_EQ(events[0].value(), "x");
  EXPECT_EQ(events[0].type(), WatchEvent::TYPE_PUT);
  EXPECT_EQ(events[1].key(), "a/2");
  EXPECT_EQ(events[1].version(), 13u);
  EXPECT_EQ(events[2].type(), WatchEvent::TYPE_DELETE);
  EXPECT_EQ(events[2].version(), 14u);
  // applied_version never goes back and ends at the last change seen.
  uint64_t last = 0;
  for (const auto& m : sink.messages()) {
    EXPECT_GE(m.applied_version(), last);
    last = m.applied_version();
    for (const auto& e : m.events()) EXPECT_LE(e.version(), m.applied_version());
  }
  EXPECT_EQ(last, 14u);
}

TEST_F(WatchHubTest, KeysFilterAndReservedKeysHidden) {
  Open();
  RecordingSink& keys = Sink();
  RecordingSink& all = Sink();
  WatchRequest r;
  r.add_keys("k2");
  r.add_keys("k9");
  ASSERT_FALSE(Add(&keys, r));
  ASSERT_FALSE(Add(&all, Prefix("")));
  AwaitStart(keys);
  AwaitStart(all);
  Append({Put(1, "k1", "a"), Put(2, "k2", "b"), Put(3, "__kv/auth/jwks", "{}"), Put(4, "k9", "c")});
  ASSERT_TRUE(keys.WaitForEvents(2));
  ASSERT_TRUE(all.WaitForEvents(3));
  auto e = keys.events();
  EXPECT_EQ(e[0].key(), "k2");
  EXPECT_EQ(e[1].key(), "k9");
  for (const auto& ev : all.events()) EXPECT_NE(ev.key(), "__kv/auth/jwks");
}

TEST_F(WatchHubTest, WatchersOfEqualFiltersAtOnePositionShareOneMessage) {
  WatchHubOptions options;
  options.progress_interval = absl::Hours(1);
  Open(options);
  // Sinks that acknowledge nothing by themselves: each message stays in flight (and alive).
  RecordingSink& a = Sink(/*ack=*/false);
  RecordingSink& b = Sink(/*ack=*/false);
  RecordingSink& keys = Sink(/*ack=*/false);
  WatchRequest r;
  r.add_keys("a/1");
  ASSERT_FALSE(Add(&a, Prefix("a/")));
  ASSERT_FALSE(Add(&b, Prefix("a/")));
  ASSERT_FALSE(Add(&keys, r));
  for (RecordingSink* sink : {&a, &b, &keys}) {
    AwaitStart(*sink);
    hub_->OnSent(sink, true);
  }
  Append({Put(1, "a/1", "v")});  // one round plans all three
  for (RecordingSink* sink : {&a, &b, &keys}) ASSERT_TRUE(sink->WaitForEvents(1));
  EXPECT_EQ(a.shared()[1], b.shared()[1]);
  EXPECT_NE(a.shared()[1], keys.shared()[1]);  // another filter: its own message
  EXPECT_EQ(a.messages()[1].SerializeAsString(), keys.messages()[1].SerializeAsString());
}

TEST_F(WatchHubTest, ACommitIsOneMessageWithItsMatchingPartsAtOneVersion) {
  Open();
  RecordingSink& sink = Sink();
  ASSERT_FALSE(Add(&sink, Prefix("a/")));
  AwaitStart(sink);
  auto commit = std::make_shared<Change>();
  commit->set_version(1);
  commit->set_kind(Change::KIND_COMMIT);
  for (const char* key : {"a/x", "b/y", "a/z"}) {
    Change* part = commit->add_parts();
    part->set_kind(Change::KIND_PUT);
    part->set_key(key);
    part->set_value(std::string("v-") + key);
  }
  Change* del = commit->add_parts();
  del->set_kind(Change::KIND_DELETE);
  del->set_key("a/old");
  // A commit none of whose parts match sends nothing but moves the watcher on.
  auto other = std::make_shared<Change>();
  other->set_version(2);
  other->set_kind(Change::KIND_COMMIT);
  other->add_parts()->set_key("b/1");
  Append({commit, other, Put(3, "a/after", "v")});
  ASSERT_TRUE(sink.WaitForEvents(4));
  const auto messages = sink.messages();
  int holding_commit = 0;
  for (const auto& m : messages) {
    bool has_commit = false;
    for (const auto& e : m.events()) has_commit |= e.version() == 1;
    if (!has_commit) continue;
    ++holding_commit;
    int parts = 0;
    for (const auto& e : m.events()) parts += e.version() == 1;
    EXPECT_EQ(parts, 3);
  }
  EXPECT_EQ(holding_commit, 1);
  auto events = sink.events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].key(), "a/x");
  EXPECT_EQ(events[1].key(), "a/z");
  EXPECT_EQ(events[2].key(), "a/old");
  EXPECT_EQ(events[2].type(), WatchEvent::TYPE_DELETE);
  EXPECT_EQ(events[3].key(), "a/after");
  EXPECT_EQ(events[3].version(), 3u);
}

TEST_F(WatchHubTest, ACommitLargerThanAMessageIsNotSplit) {
  WatchHubOptions options;
  options.max_message_events = 2;
  Open(options);
  RecordingSink& sink = Sink();
  ASSERT_FALSE(Add(&sink, Prefix("")));
  AwaitStart(sink);
  auto commit = std::make_shared<Change>();
  commit->set_version(2);
  commit->set_kind(Change::KIND_COMMIT);
  for (int i = 0; i < 5; ++i) {
    Change* part = commit->add_parts();
    part->set_kind(Change::KIND_PUT);
    part->set_key("k" + std::to_string(i));
  }
  Append({Put(1, "before", "v"), commit});
  ASSERT_TRUE(sink.WaitForEvents(6));
  for (const auto& m : sink.messages()) {
    int parts = 0;
    for (const auto& e : m.events()) parts += e.version() == 2;
    EXPECT_TRUE(parts == 0 || parts == 5) << parts;
  }
}

TEST_F(WatchHubTest, LargeAndInvalidatedValuesAreOmittedWithTheirSize) {
  Open();
  RecordingSink& sink = Sink();
  ASSERT_FALSE(Add(&sink, Prefix("")));
  AwaitStart(sink);
  auto inval = std::make_shared<Change>();
  inval->set_version(1);
  inval->set_kind(Change::KIND_INVALIDATE);
  inval->set_key("big");
  inval->set_value_size(1 << 20);
  Append({inval, Put(2, "large", std::string((64 << 10) + 1, 'x'))});
  ASSERT_TRUE(sink.WaitForEvents(2));
  auto events = sink.events();
  EXPECT_EQ(events[0].type(), WatchEvent::TYPE_PUT);
  EXPECT_TRUE(events[0].value_omitted());
  EXPECT_EQ(events[0].value_size(), 1u << 20);
  EXPECT_TRUE(events[1].value_omitted());
  EXPECT_TRUE(events[1].value().empty());
  EXPECT_EQ(events[1].value_size(), (64u << 10) + 1);
}

TEST_F(WatchHubTest, ResumesFromAVersionStillInTheRing) {
  Open();
  for (uint64_t v = 1; v <= 10; ++v) Append({Put(v, "k" + std::to_string(v), "v")});
  RecordingSink& sink = Sink();
  ASSERT_FALSE(Add(&sink, Prefix("", 5)));
  ASSERT_TRUE(sink.WaitForEvents(6));
  auto events = sink.events();
  ASSERT_EQ(events.size(), 6u);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].version(), 5 + i);
}

TEST_F(WatchHubTest, AStartOlderThanRetainedIsOutOfRangeNamingTheOldest) {
  WatchHubOptions options;
  options.ring_changes = 5;
  Open(options);
  for (uint64_t v = 1; v <= 20; ++v) Append({Put(v, "k", "v")});
  EXPECT_EQ(hub_->oldest_version(), 16u);
  RecordingSink& sink = Sink();
  auto refused = Add(&sink, Prefix("", 3));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(refused->oldest_version, 16u);
  EXPECT_NE(refused->status.message().find("16"), std::string::npos) << refused->status;
  EXPECT_FALSE(Add(&sink, Prefix("", 16)));
  ASSERT_TRUE(sink.WaitForEvents(5));
}

TEST_F(WatchHubTest, ASlowWatcherIsEndedWithTheResumeVersionAndSlowsNobody) {
  WatchHubOptions options;
  options.max_lag_changes = 50;
  Open(options);
  RecordingSink& stalled = Sink(/*ack=*/false);
  RecordingSink& fast = Sink();
  ASSERT_FALSE(Add(&stalled, Prefix("")));
  ASSERT_FALSE(Add(&fast, Prefix("")));
  AwaitStart(stalled);  // its first message is never acknowledged
  AwaitStart(fast);
  auto longest = std::chrono::nanoseconds(0);
  for (uint64_t v = 1; v <= 500; ++v) {
    auto t0 = std::chrono::steady_clock::now();
    Append({Put(v, "k", std::string(100, 'x'))});
    longest = std::max(longest, std::chrono::steady_clock::now() - t0);
  }
  ASSERT_TRUE(stalled.WaitForEnd());
  WatchEnd end = stalled.end();
  EXPECT_EQ(end.status.code(), absl::StatusCode::kResourceExhausted) << end.status;
  EXPECT_EQ(end.resume_version, 1u);  // it got only the start message
  EXPECT_NE(end.status.message().find("--watch-max-lag"), std::string::npos);
  ASSERT_TRUE(fast.WaitForEvents(500));
  EXPECT_EQ(fast.events().back().version(), 500u);
  EXPECT_EQ(hub_->slow_watchers_ended(), 1u);
  // Append does no per-watcher work: never anywhere near a millisecond.
  EXPECT_LT(longest, std::chrono::milliseconds(20));
}

TEST_F(WatchHubTest, TheWatcherLimitRefusesWithAClearError) {
  WatchHubOptions options;
  options.max_watchers = 2;
  Open(options);
  RecordingSink& a = Sink();
  RecordingSink& b = Sink();
  RecordingSink& c = Sink();
  ASSERT_FALSE(Add(&a, Prefix("")));
  ASSERT_FALSE(Add(&b, Prefix("")));
  auto refused = Add(&c, Prefix(""));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused->status.message().find("--max-watchers 2"), std::string::npos)
      << refused->status;
  EXPECT_EQ(hub_->refused_by_limit(), 1u);
  hub_->OnCancel(&a);
  ASSERT_TRUE(a.WaitForEnd());
  EXPECT_FALSE(Add(&c, Prefix("")));
}

TEST_F(WatchHubTest, ProgressMessagesWhileNothingMatchingChanges) {
  Open({}, 3);
  RecordingSink& sink = Sink();
  WatchRequest r = Prefix("quiet/");
  r.set_progress_interval_millis(20);
  ASSERT_FALSE(Add(&sink, r));
  Append({Put(4, "noisy/1", "v")});
  ASSERT_TRUE(sink.WaitFor([](const auto& m, bool) { return m.size() >= 4; }));
  auto messages = sink.messages();
  EXPECT_EQ(messages.back().applied_version(), 4u);
  for (const auto& m : messages) EXPECT_EQ(m.events_size(), 0);
}

// A central node makes a batch readable before it appends it here. Meanwhile a message must not
// claim the node's freshness (7 us here): only what readers saw when the last Append finished.
TEST_F(WatchHubTest, WhileReadersSeeMoreThanTheHubMessagesClaimLessFreshness) {
  std::atomic<uint64_t> readable{3};
  WatchHubOptions options;
  options.readable_head = [&readable] { return readable.load(); };
  Open(options, 3);
  RecordingSink& sink = Sink();
  WatchRequest r = Prefix("quiet/");
  r.set_progress_interval_millis(20);
  ASSERT_FALSE(Add(&sink, r));
  AwaitStart(sink);
  EXPECT_EQ(sink.messages().front().staleness_micros(), 7);
  readable = 4;  // the store holds version 4; the hub does not yet
  const size_t before = sink.messages().size();
  absl::SleepFor(absl::Milliseconds(150));
  ASSERT_TRUE(sink.WaitFor([&](const auto& m, bool) { return m.size() >= before + 2; }));
  auto last = sink.messages().back();
  EXPECT_EQ(last.applied_version(), 3u);
  EXPECT_GE(last.staleness_micros(), 100'000) << "claimed freshness without version 4";
  Append({Put(4, "noisy/1", "v")});
  ASSERT_TRUE(sink.WaitFor([](const auto& m, bool) { return m.back().applied_version() == 4; }));
  EXPECT_EQ(sink.messages().back().staleness_micros(), 7);
}

TEST_F(WatchHubTest, RebaseEndsWatchersThatNeededTheSkippedChanges) {
  Open();
  RecordingSink& sink = Sink();
  ASSERT_FALSE(Add(&sink, Prefix("")));
  AwaitStart(sink);
  hub_->Rebase(100, "a snapshot replaced the data");
  ASSERT_TRUE(sink.WaitForEnd());
  EXPECT_EQ(sink.end().status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(sink.end().oldest_version, 101u);
  RecordingSink& after = Sink();
  ASSERT_FALSE(Add(&after, Prefix("")));
  Append({Put(101, "k", "v")});
  ASSERT_TRUE(after.WaitForEvents(1));
}

TEST_F(WatchHubTest, FinishAllEndsEveryWatcherAndRefusesNewOnes) {
  Open();
  RecordingSink& sink = Sink();
  ASSERT_FALSE(Add(&sink, Prefix("")));
  hub_->FinishAll();
  ASSERT_TRUE(sink.WaitForEnd());
  EXPECT_EQ(sink.end().status.code(), absl::StatusCode::kUnavailable);
  RecordingSink& late = Sink();
  auto refused = Add(&late, Prefix(""));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status.code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace kv::server

// A real `kvd edge --mode full` whose upstream is a scripted fake Replication service in this
// process. The fake serves a valid snapshot, then, one subscription at a time, hostile streams:
// gaps, reorderings, duplicate versions, empty keys, unknown kinds, a second start, changes
// before the start, a bogus cluster id and a message over gRPC's size limit. For each the edge
// must stay up, apply nothing of the bad batch (head version and content unchanged), and
// resubscribe from its applied version + 1; the fake then behaves and the edge must converge.
// No second snapshot may be taken: hostile messages are stream errors, not a RESET.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "tests/support/kvd_process.h"
#include "tests/support/raw_kv.h"
#include "tests/support/temp_dir.h"

namespace kv::testing {
namespace {

using kvstore::v1::Change;
using kvstore::v1::DownstreamMessage;
using kvstore::v1::UpstreamMessage;

constexpr char kCluster[] = "hostile-test-cluster";

Change MakePut(uint64_t version, const std::string& key, const std::string& value) {
  Change c;
  c.set_version(version);
  c.set_kind(Change::KIND_PUT);
  c.set_key(key);
  c.set_value(value);
  return c;
}

UpstreamMessage Start(uint64_t head, const std::string& cluster = kCluster) {
  UpstreamMessage m;
  m.mutable_start()->set_cluster_id(cluster);
  m.mutable_start()->set_head_version(head);
  m.mutable_start()->set_oldest_version(1);
  m.mutable_start()->set_node_id("fake-upstream");
  return m;
}

UpstreamMessage Batch(std::vector<Change> changes, UpstreamMessage m = {}) {
  for (auto& c : changes) *m.add_changes() = std::move(c);
  return m;
}

// The fake upstream: a tiny history of its own (a change log and the resulting content), a
// Snapshot of it, and Subscribe streams that either follow the rules or play a queued script.
class FakeUpstream final : public kvstore::v1::Replication::Service {
 public:
  struct Hello {
    uint64_t from_version;
    std::string cluster_id;
  };

  // Appends a put to the fake's history and returns it.
  Change Commit(const std::string& key, const std::string& value) {
    absl::MutexLock l(&mu_);
    Change c = MakePut(log_.size() + 1, key, value);
    log_.push_back(c);
    content_[key] = c;
    return c;
  }
  Change CommitDelete(const std::string& key) {
    absl::MutexLock l(&mu_);
    Change c;
    c.set_version(log_.size() + 1);
    c.set_kind(Change::KIND_DELETE);
    c.set_key(key);
    log_.push_back(c);
    content_.erase(key);
    return c;
  }
  uint64_t head() const {
    absl::MutexLock l(&mu_);
    return log_.size();
  }
  // In RawKv::Content's format.
  std::map<std::string, std::string> Content() const {
    absl::MutexLock l(&mu_);
    std::map<std::string, std::string> out;
    for (const auto& [key, c] : content_) {
      out[key] = absl::StrCat(c.version(), "|", c.expiration(), "|", c.value());
    }
    return out;
  }
  // The next subscription plays `script`, then waits for the edge to hang up.
  void QueueScript(std::vector<UpstreamMessage> script) {
    absl::MutexLock l(&mu_);
    scripts_.push_back(std::move(script));
  }
  // While held, well-behaved subscriptions wait before their start message.
  void Hold(bool hold) {
    absl::MutexLock l(&mu_);
    hold_ = hold;
  }
  // Ends the well-behaved streams now open (the edge reconnects).
  void EndStreams() {
    absl::MutexLock l(&mu_);
    ++generation_;
  }
  std::vector<Hello> hellos() const {
    absl::MutexLock l(&mu_);
    return hellos_;
  }

  grpc::Status Snapshot(grpc::ServerContext*, const kvstore::v1::SnapshotRequest*,
                        grpc::ServerWriter<kvstore::v1::SnapshotChunk>* writer) override {
    kvstore::v1::SnapshotChunk chunk;
    {
      absl::MutexLock l(&mu_);
      chunk.set_version(log_.size());
      chunk.set_cluster_id(kCluster);
      chunk.set_last(true);
      chunk.set_total_keys(content_.size());
      for (const auto& [key, c] : content_) {
        auto* e = chunk.add_entries();
        e->set_key(key);
        e->set_value(c.value());
        e->set_version(c.version());
      }
    }
    writer->Write(chunk);
    return grpc::Status::OK;
  }

  grpc::Status Subscribe(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<UpstreamMessage, DownstreamMessage>* stream) override {
    DownstreamMessage in;
    if (!stream->Read(&in) || !in.has_hello()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "expected a hello");
    }
    std::optional<std::vector<UpstreamMessage>> script;
    {
      absl::MutexLock l(&mu_);
      hellos_.push_back({in.hello().from_version(), in.hello().cluster_id()});
      if (!scripts_.empty()) {
        script = std::move(scripts_.front());
        scripts_.pop_front();
      }
    }
    if (script) {
      for (const auto& m : *script) {
        if (!stream->Write(m)) break;
      }
      while (stream->Read(&in)) {
      }  // the edge must hang up; the fake never does
      return grpc::Status::OK;
    }
    return Serve(ctx, in.hello().from_version(), stream);
  }

 private:
  // A well-behaved stream: start, every change from `from` on, a pong after each ping.
  grpc::Status Serve(grpc::ServerContext* ctx, uint64_t from,
                     grpc::ServerReaderWriter<UpstreamMessage, DownstreamMessage>* stream) {
    uint64_t generation = 0;
    {
      absl::MutexLock l(&mu_);
      auto released = [this, ctx]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !hold_ || ctx->IsCancelled();
      };
      while (!mu_.AwaitWithTimeout(absl::Condition(&released), absl::Milliseconds(20))) {
      }
      generation = generation_;
    }
    if (!stream->Write(Start(head()))) return grpc::Status::OK;
    uint64_t cursor = from;
    DownstreamMessage in;
    for (;;) {
      UpstreamMessage out;
      {
        absl::MutexLock l(&mu_);
        if (generation_ != generation) {
          return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the fake upstream rotates");
        }
        for (; cursor >= 1 && cursor <= log_.size(); ++cursor) {
          *out.add_changes() = log_[cursor - 1];
        }
      }
      if (out.changes_size() > 0 && !stream->Write(out)) return grpc::Status::OK;
      if (!stream->Read(&in)) return grpc::Status::OK;
      if (in.has_ping()) {
        UpstreamMessage pong;
        pong.mutable_pong()->set_t0_micros(in.ping().t0_micros());
        pong.mutable_pong()->set_head_version(cursor - 1);
        if (!stream->Write(pong)) return grpc::Status::OK;
      }
    }
  }

  mutable absl::Mutex mu_;
  std::vector<Change> log_ ABSL_GUARDED_BY(mu_);  // log_[v - 1] is version v
  std::map<std::string, Change> content_ ABSL_GUARDED_BY(mu_);
  std::deque<std::vector<UpstreamMessage>> scripts_ ABSL_GUARDED_BY(mu_);
  std::vector<Hello> hellos_ ABSL_GUARDED_BY(mu_);
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

class HostileStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 5; ++i) fake_.Commit(absl::StrCat("key/", i), absl::StrCat("value-", i));
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    // A small value limit makes gRPC's message limit small enough to exceed cheaply.
    edge_ = std::make_unique<KvdProcess>(
        "edge",
        std::vector<std::string>{"edge", "--mode", "full", "--upstream",
                                 absl::StrCat("127.0.0.1:", port_), "--data-dir", dir_.Sub("edge"),
                                 "--node-id", "e1", "--max-staleness", "1h", "--max-value-bytes",
                                 "64KiB", "--ping-interval", "20ms"},
        dir_.path());
    ASSERT_TRUE(edge_->Start().ok()) << edge_->ReadLog();
  }

  void TearDown() override {
    if (edge_ != nullptr) {
      if (HasFailure()) std::cerr << "---- edge log ----\n" << edge_->ReadLog();
      EXPECT_EQ(edge_->Stop(), 0) << "the edge did not exit cleanly";
    }
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  }

  uint64_t EdgeHead() {
    auto s = edge_->Status();
    return s.ok() ? s->head_version() : 0;
  }
  bool WaitHead(uint64_t version) {
    return WaitFor([&] { return EdgeHead() == version; }, absl::Seconds(10));
  }
  size_t HelloCount() { return fake_.hellos().size(); }
  std::map<std::string, std::string> EdgeContent() {
    std::map<std::string, std::string> content;
    grpc::Status s = RawKv(edge_->address()).Content(&content);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return content;
  }

  TempDir dir_;
  FakeUpstream fake_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<KvdProcess> edge_;
};

struct HostileCase {
  std::string name;
  // Builds the script from the fake's head; may Commit the changes it expects to be applied.
  std::function<std::vector<UpstreamMessage>(FakeUpstream*, uint64_t head)> script;
};

std::vector<HostileCase> Cases() {
  return {
      {"gap",
       [](FakeUpstream*, uint64_t h) {
         return std::vector<UpstreamMessage>{Start(h), Batch({MakePut(h + 2, "bad/gap", "x")})};
       }},
      {"reordering",
       [](FakeUpstream*, uint64_t h) {
         return std::vector<UpstreamMessage>{
             Start(h + 2), Batch({MakePut(h + 2, "bad/r2", "x"), MakePut(h + 1, "bad/r1", "x")})};
       }},
      {"duplicate version in one batch",
       [](FakeUpstream*, uint64_t h) {
         return std::vector<UpstreamMessage>{
             Start(h + 1), Batch({MakePut(h + 1, "bad/d", "1"), MakePut(h + 1, "bad/d", "2")})};
       }},
      {"a version sent again",
       [](FakeUpstream* fake, uint64_t h) {
         // The first copy is good (the fake commits it); the second must be refused.
         Change c = fake->Commit("replayed", "once");
         Change again = c;
         again.set_value("twice");
         return std::vector<UpstreamMessage>{Start(h + 1), Batch({c}), Batch({again})};
       }},
      {"empty key",
       [](FakeUpstream*, uint64_t h) {
         return std::vector<UpstreamMessage>{
             Start(h + 2),
             Batch({MakePut(h + 1, "bad/before-empty", "x"), MakePut(h + 2, "", "y")})};
       }},
      {"unknown kind",
       [](FakeUpstream*, uint64_t h) {
         Change c = MakePut(h + 1, "bad/kind", "x");
         c.set_kind(static_cast<Change::Kind>(42));
         return std::vector<UpstreamMessage>{Start(h + 1), Batch({c})};
       }},
      {"start twice",
       [](FakeUpstream*, uint64_t h) {
         return std::vector<UpstreamMessage>{
             Start(h + 1), Batch({MakePut(h + 1, "bad/second-start", "x")}, Start(h + 1))};
       }},
      {"changes before start",
       [](FakeUpstream*, uint64_t h) {
         return std::vector<UpstreamMessage>{Batch({MakePut(h + 1, "bad/early", "x")}),
                                             Start(h + 1)};
       }},
      {"message over the size limit",
       [](FakeUpstream*, uint64_t h) {
         return std::vector<UpstreamMessage>{
             Start(h + 1), Batch({MakePut(h + 1, "bad/huge", std::string(3 << 20, 'h'))})};
       }},
      {"bogus cluster id",
       [](FakeUpstream*, uint64_t h) {
         return std::vector<UpstreamMessage>{
             Batch({MakePut(h + 1, "bad/cluster", "x")}, Start(h + 1, "some-other-cluster"))};
       }},
  };
}

TEST_F(HostileStreamTest, RefusesHostileMessagesResubscribesAndConverges) {
  const absl::Time began = absl::Now();
  ASSERT_TRUE(WaitHead(fake_.head())) << "bootstrap: edge at " << EdgeHead();
  // Ready = fresh within its bound (a pong answered), so reads are served locally.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = edge_->Status();
        return s.ok() && s->ready();
      },
      absl::Seconds(10)));
  ASSERT_EQ(EdgeContent(), fake_.Content());

  for (const HostileCase& hostile : Cases()) {
    SCOPED_TRACE(hostile.name);
    const uint64_t before = fake_.head();
    ASSERT_EQ(EdgeHead(), before);
    const size_t hellos = HelloCount();
    // The next subscription plays the script; the one after it waits, so the edge's state can
    // be inspected between the refusal and the next good change.
    fake_.QueueScript(hostile.script(&fake_, before));
    const uint64_t expected = fake_.head();  // includes what the script legitimately applies
    fake_.Hold(true);
    fake_.EndStreams();
    ASSERT_TRUE(WaitFor([&] { return HelloCount() >= hellos + 2; }, absl::Seconds(10)))
        << "the edge did not resubscribe after the hostile stream (" << HelloCount() - hellos
        << " new subscriptions)";
    auto seen = fake_.hellos();
    EXPECT_EQ(seen[hellos].from_version, before + 1) << "the hostile subscription";
    EXPECT_EQ(seen[hellos + 1].from_version, expected + 1) << "the resubscription";
    EXPECT_EQ(seen[hellos + 1].cluster_id, kCluster);
    EXPECT_TRUE(edge_->running());
    EXPECT_EQ(EdgeHead(), expected) << "the edge applied part of a refused message";
    EXPECT_EQ(EdgeContent(), fake_.Content());

    // The fake behaves again: a new change must arrive on the held subscription.
    fake_.Commit(absl::StrCat("good/", hostile.name), "ok");
    fake_.Hold(false);
    ASSERT_TRUE(WaitHead(fake_.head())) << "edge at " << EdgeHead() << ", fake at " << fake_.head();
    EXPECT_EQ(EdgeContent(), fake_.Content());
  }

  // Converges on a last burst, deletions included, over the same stream.
  for (int i = 0; i < 20; ++i) fake_.Commit(absl::StrCat("final/", i % 7), absl::StrCat(i));
  fake_.CommitDelete("key/0");
  ASSERT_TRUE(WaitHead(fake_.head()));
  EXPECT_EQ(EdgeContent(), fake_.Content());
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(RawKv(edge_->address()).Get("final/6", &got).ok());
  EXPECT_EQ(got.entry().value(), "13");  // the last i < 20 with i % 7 == 6
  ASSERT_TRUE(RawKv(edge_->address()).Get("bad/huge", &got).ok());
  EXPECT_FALSE(got.found());

  auto status = edge_->Status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->replication().snapshots(), 1u) << "a hostile message caused a re-bootstrap";
  EXPECT_EQ(status->replication().resets(), 0u);
  EXPECT_EQ(status->cluster_id(), kCluster);
  EXPECT_LT(absl::Now() - began, absl::Seconds(30));
}

}  // namespace
}  // namespace kv::testing

// The central node as a real process, driven over gRPC on loopback: the write path, reads,
// listing, expiry, conditional writes, restarts, crashes and bad input.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/change_log_reader.h"
#include "tests/support/kvd_process.h"
#include "tests/support/temp_dir.h"

namespace kv::testing {
namespace {

using kvstore::v1::KV;

grpc::Status Put(KV::Stub* stub, const std::string& key, const std::string& value,
                 kvstore::v1::PutResponse* resp, std::optional<uint64_t> if_version = {},
                 int64_t ttl = 0) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  kvstore::v1::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  if (if_version) req.set_if_version(*if_version);
  req.set_ttl_seconds(ttl);
  return stub->Put(&ctx, req, resp);
}

grpc::Status Get(KV::Stub* stub, const std::string& key, kvstore::v1::GetResponse* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  kvstore::v1::GetRequest req;
  req.set_key(key);
  return stub->Get(&ctx, req, resp);
}

class CentralTest : public ::testing::Test {
 protected:
  void SetUp() override {
    central_ = std::make_unique<KvdProcess>(
        "central",
        std::vector<std::string>{"central", "--data-dir", dir_.Sub("central"),
                                 "--expiry-sweep-interval", "200ms"},
        dir_.path());
    ASSERT_TRUE(central_->Start().ok()) << central_->ReadLog();
    stub_ = central_->KvStub();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- central log ----\n" << central_->ReadLog();
  }

  TempDir dir_;
  std::unique_ptr<KvdProcess> central_;
  std::unique_ptr<KV::Stub> stub_;
};

TEST_F(CentralTest, PutGetDeleteRoundTrip) {
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(Put(stub_.get(), "greeting", "hello", &put).ok());
  EXPECT_EQ(put.version(), 1u);
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(Get(stub_.get(), "greeting", &got).ok());
  ASSERT_TRUE(got.found());
  EXPECT_EQ(got.entry().value(), "hello");
  EXPECT_EQ(got.entry().version(), 1u);
  EXPECT_EQ(got.info().source(), kvstore::v1::SOURCE_CENTRAL);
  EXPECT_EQ(got.info().staleness_micros(), 0);
  EXPECT_GE(got.info().as_of_version(), 1u);

  grpc::ClientContext ctx;
  kvstore::v1::DeleteRequest del;
  del.set_key("greeting");
  kvstore::v1::DeleteResponse deleted;
  ASSERT_TRUE(stub_->Delete(&ctx, del, &deleted).ok());
  EXPECT_TRUE(deleted.deleted());
  EXPECT_EQ(deleted.version(), 2u);
  got.Clear();
  ASSERT_TRUE(Get(stub_.get(), "greeting", &got).ok());
  EXPECT_FALSE(got.found());
  EXPECT_EQ(got.info().as_of_version(), 2u);
}

TEST_F(CentralTest, ListPaginatesOverThousandsOfKeys) {
  constexpr int kKeys = 3000;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      auto stub = central_->KvStub();
      for (int i = t; i < kKeys; i += 4) {
        kvstore::v1::PutResponse r;
        ASSERT_TRUE(Put(stub.get(), absl::StrCat("item/", 100000 + i), "v", &r).ok());
      }
    });
  }
  for (auto& w : writers) w.join();
  kvstore::v1::PutResponse r;
  ASSERT_TRUE(Put(stub_.get(), "itemz", "outside the prefix", &r).ok());

  std::vector<std::string> keys;
  std::string cursor;
  int pages = 0;
  do {
    grpc::ClientContext ctx;
    kvstore::v1::ListRequest req;
    req.set_prefix("item/");
    req.set_cursor(cursor);
    req.set_limit(700);
    kvstore::v1::ListResponse resp;
    ASSERT_TRUE(stub_->List(&ctx, req, &resp).ok());
    for (const auto& e : resp.entries()) {
      keys.push_back(e.key());
      EXPECT_GT(e.version(), 0u);
      EXPECT_TRUE(e.value().empty());
    }
    cursor = resp.next_cursor();
    ASSERT_LT(++pages, 100);
  } while (!cursor.empty());
  EXPECT_EQ(pages, 5);  // 3000 / 700 rounded up
  ASSERT_EQ(keys.size(), size_t{kKeys});
  for (int i = 0; i < kKeys; ++i) EXPECT_EQ(keys[i], absl::StrCat("item/", 100000 + i));
}

TEST_F(CentralTest, ExpiredKeysVanishAtOnceAndTheSweepLogsTheirDeletion) {
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(Put(stub_.get(), "short-lived", "x", &put, {}, /*ttl=*/1).ok());
  ASSERT_GT(put.expiration(), 0);
  ASSERT_TRUE(Put(stub_.get(), "long-lived", "y", &put).ok());
  // Absent as soon as the wall clock reaches the expiration (plus clock granularity).
  absl::Time expires = absl::FromUnixSeconds(put.expiration() == 0 ? 0 : put.expiration());
  (void)expires;
  ASSERT_TRUE(WaitFor(
      [&] {
        kvstore::v1::GetResponse got;
        return Get(stub_.get(), "short-lived", &got).ok() && !got.found();
      },
      absl::Seconds(3)));
  // The sweep turns it into an ordinary logged deletion (version 3).
  ASSERT_TRUE(WaitFor([&] { return central_->Status()->head_version() >= 3; }, absl::Seconds(5)));
  auto log = ReadChangeLog(central_->address(), 1, 3);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[2].kind(), kvstore::v1::Change::KIND_DELETE);
  EXPECT_EQ((*log)[2].key(), "short-lived");
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(Get(stub_.get(), "long-lived", &got).ok());
  EXPECT_TRUE(got.found());
}

TEST_F(CentralTest, ConcurrentConditionalWritersExactlyOneWinsEachRound) {
  constexpr int kRounds = 20, kWriters = 6;
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(Put(stub_.get(), "counter", "0", &put).ok());
  uint64_t version = put.version();
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<int> winners{0};
    std::atomic<uint64_t> new_version{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&, w] {
        auto stub = central_->KvStub();
        kvstore::v1::PutResponse r;
        grpc::Status s = Put(stub.get(), "counter", absl::StrCat(round, "-", w), &r, version);
        if (s.ok()) {
          winners.fetch_add(1);
          new_version = r.version();
        } else {
          EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    version = new_version.load();
  }
}

TEST_F(CentralTest, DataSurvivesARestart) {
  for (int i = 0; i < 100; ++i) {
    kvstore::v1::PutResponse r;
    ASSERT_TRUE(Put(stub_.get(), absl::StrCat("k", i), absl::StrCat("v", i), &r).ok());
  }
  EXPECT_EQ(central_->Stop(), 0);
  ASSERT_TRUE(central_->Start().ok());
  auto stub = central_->KvStub();
  for (int i = 0; i < 100; ++i) {
    kvstore::v1::GetResponse got;
    grpc::Status gs = Get(stub.get(), absl::StrCat("k", i), &got);
    ASSERT_TRUE(gs.ok()) << gs.error_message();
    ASSERT_TRUE(got.found());
    EXPECT_EQ(got.entry().value(), absl::StrCat("v", i));
    EXPECT_EQ(got.entry().version(), uint64_t(i + 1));
  }
  kvstore::v1::PutResponse r;
  ASSERT_TRUE(Put(stub.get(), "after", "restart", &r).ok());
  EXPECT_EQ(r.version(), 101u);  // versions continue, never reused
}

TEST_F(CentralTest, EveryAcknowledgedWriteSurvivesKill9) {
  struct Ack {
    std::string key, value;
    uint64_t version;
  };
  std::mutex mu;
  std::vector<Ack> acks;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      auto stub = central_->KvStub();
      for (int i = 0; !stop.load(); ++i) {
        std::string key = absl::StrCat("crash/", t, "/", i % 50);
        std::string value = absl::StrCat("w", t, "-", i);
        kvstore::v1::PutResponse r;
        if (Put(stub.get(), key, value, &r).ok()) {
          std::lock_guard<std::mutex> l(mu);
          acks.push_back({key, value, r.version()});
        }
      }
    });
  }
  // Let writes flow, then kill without warning while they are in flight.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> l(mu);
        return acks.size() > 2000;
      },
      absl::Seconds(30)));
  central_->Kill();
  stop = true;
  for (auto& w : writers) w.join();
  ASSERT_TRUE(central_->Start().ok());

  uint64_t max_acked = 0;
  for (const auto& a : acks) max_acked = std::max(max_acked, a.version);
  auto log = ReadChangeLog(central_->address(), 1, max_acked);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_GE(log->size(), max_acked);
  for (const auto& a : acks) {
    const auto& c = (*log)[a.version - 1];
    ASSERT_EQ(c.version(), a.version);
    EXPECT_EQ(c.key(), a.key);
    EXPECT_EQ(c.value(), a.value) << "acknowledged version " << a.version << " lost";
  }
  // And the data column family agrees with the log for the latest acknowledged write per key.
  std::map<std::string, Ack> latest;
  for (const auto& a : acks) {
    auto& l = latest[a.key];
    if (a.version > l.version) l = a;
  }
  auto stub = central_->KvStub();
  for (const auto& [key, a] : latest) {
    kvstore::v1::GetResponse got;
    ASSERT_TRUE(Get(stub.get(), key, &got).ok());
    ASSERT_TRUE(got.found());
    EXPECT_GE(got.entry().version(), a.version);
  }
  std::cerr << acks.size() << " acknowledged writes checked after kill -9, head "
            << central_->Status()->head_version() << "\n";
}

TEST_F(CentralTest, BadInputGetsAPreciseErrorAndChangesNothing) {
  struct Case {
    std::string key;
    size_t value_bytes;
    size_t metadata_bytes;
    int64_t ttl;
    grpc::StatusCode code;
    std::string mentions;
  };
  std::vector<Case> cases = {
      {"", 1, 0, 0, grpc::StatusCode::INVALID_ARGUMENT, "key is empty"},
      {std::string(513, 'k'), 1, 0, 0, grpc::StatusCode::INVALID_ARGUMENT, "limit of 512 bytes"},
      {"k", (25u << 20) + 1, 0, 0, grpc::StatusCode::RESOURCE_EXHAUSTED, "limit of 26214400"},
      {"k", 1, 1025, 0, grpc::StatusCode::INVALID_ARGUMENT, "metadata is 1025 bytes"},
      {"k", 1, 0, -3, grpc::StatusCode::INVALID_ARGUMENT, "ttl_seconds"},
  };
  for (const auto& c : cases) {
    grpc::ClientContext ctx;
    kvstore::v1::PutRequest req;
    req.set_key(c.key);
    req.set_value(std::string(c.value_bytes, 'v'));
    req.set_metadata(std::string(c.metadata_bytes, 'm'));
    req.set_ttl_seconds(c.ttl);
    kvstore::v1::PutResponse resp;
    grpc::Status s = stub_->Put(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), c.code) << s.error_message();
    EXPECT_NE(s.error_message().find(c.mentions), std::string::npos) << s.error_message();
  }
  // A value of exactly the limit is fine.
  kvstore::v1::PutResponse ok;
  ASSERT_TRUE(Put(stub_.get(), "big", std::string(25u << 20, 'v'), &ok).ok());
  EXPECT_EQ(central_->Status()->head_version(), 1u);  // only the legal write landed
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(Get(stub_.get(), "big", &got).ok());
  EXPECT_EQ(got.entry().value().size(), 25u << 20);
}

TEST(KvdCommandLine, UnknownFlagsAndBusyDataDirectoriesAreClearErrors) {
  TempDir dir;
  std::string kvd = KvdPath();
  std::string out = dir.Sub("out.txt");
  int rc = std::system(
      (kvd + " central --data-dir " + dir.Sub("d") + " --no-such-flag > " + out + " 2>&1").c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 2);
  rc = std::system((kvd + " > " + out + " 2>&1").c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 2);

  KvdProcess first("first", {"central", "--data-dir", dir.Sub("shared")}, dir.path());
  ASSERT_TRUE(first.Start().ok());
  KvdProcess second("second", {"central", "--data-dir", dir.Sub("shared")}, dir.path());
  absl::Status s = second.Start(absl::Seconds(10));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("in use by another process"), std::string::npos) << s;
  EXPECT_EQ(first.Stop(), 0);
}

}  // namespace
}  // namespace kv::testing

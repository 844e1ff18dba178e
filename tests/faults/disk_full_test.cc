// A full disk under the central node and under a full edge, with real kvd processes on a small
// tmpfs: writes are refused with RESOURCE_EXHAUSTED before RocksDB can fail (the process stays
// up), readiness and Status say why, and everything resumes by itself when space returns. An
// edge whose snapshot does not fit fails cleanly and retries. Needs root for the tmpfs (CI runs
// as root); skipped with a message otherwise.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "tests/faults/fault_support.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/raw_kv.h"
#include "tests/support/wait_for.h"

namespace kv::testing {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1ull << 20;

class DiskFullTest : public ClusterFixture {
 protected:
  void SetUp() override {
    disk_ = std::make_unique<TmpfsMount>(dir_.Sub("disk"), 64 * kMiB);
    if (absl::Status s = disk_->Mount(); !s.ok()) GTEST_SKIP() << s.message();
  }
  void TearDown() override {
    ClusterFixture::TearDown();  // logs on failure
    // Every process off the mount before it goes.
    for (auto& e : edges_) e->Stop();
    if (central_) central_->Stop();
    disk_.reset();
  }

  // The central node with its data under `data_dir` (the fixture's helpers put it elsewhere).
  KvdProcess* StartCentralIn(const std::string& data_dir, std::vector<std::string> extra) {
    std::vector<std::string> args = {"central", "--data-dir", data_dir, "--node-id", "central"};
    args.insert(args.end(), extra.begin(), extra.end());
    central_ = std::make_unique<KvdProcess>("central", args, dir_.path());
    EXPECT_TRUE(central_->Start().ok()) << central_->ReadLog();
    return central_.get();
  }
  KvdProcess* StartFullEdgeIn(const std::string& name, const std::string& data_dir,
                              std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "edge",       "--mode", "full",      "--upstream", central_->address(),
        "--data-dir", data_dir, "--node-id", name};
    args.insert(args.end(), extra.begin(), extra.end());
    edges_.push_back(std::make_unique<KvdProcess>(name, args, dir_.path()));
    EXPECT_TRUE(edges_.back()->Start().ok()) << edges_.back()->ReadLog();
    return edges_.back().get();
  }

  pid_t Pid(const KvdProcess* node) {
    auto pid = ReadyFilePid(dir_.path(), node->name());
    EXPECT_TRUE(pid.ok()) << pid.status();
    return pid.ok() ? *pid : -1;
  }

  std::unique_ptr<TmpfsMount> disk_;
};

TEST_F(DiskFullTest, CentralRefusesWritesBelowTheReserveStaysUpAndResumes) {
  KvdProcess* central = StartCentralIn(disk_->dir() + "/central",
                                       {"--min-free-disk", "16MiB", "--http", "127.0.0.1:0"});
  const pid_t pid = Pid(central);
  RawKv kv(central->address());
  const std::string value(kMiB, 'v');
  ASSERT_TRUE(kv.Put("before", "1").ok());

  // Leave 8 MiB free: below the 16 MiB reserve.
  auto ballast = FillDisk(disk_->dir() + "/ballast", 8 * kMiB);
  ASSERT_TRUE(ballast.ok()) << ballast.status();
  // The node reads free space every 100 ms: wait until it has seen the ballast.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = central->Status();
        return s.ok() && s->disk_reserve_exceeded();
      },
      absl::Seconds(5)));
  uint64_t head = central->Status()->head_version();
  for (int i = 0; i < 10; ++i) {
    grpc::Status s = kv.Put(absl::StrCat("refused/", i), value);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("below --min-free-disk 16 MiB; writes resume when "
                                             "space returns"));
  }
  EXPECT_TRUE(Alive(pid));
  auto status = central->Status();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->head_version(), head);  // nothing was written: refused, not unknown
  EXPECT_FALSE(status->ready());
  EXPECT_TRUE(status->disk_reserve_exceeded());
  EXPECT_LT(status->disk_free_bytes(), 16 * kMiB);
  EXPECT_EQ(status->min_free_disk_bytes(), 16 * kMiB);
  EXPECT_GE(status->disk_write_refusals(), 10u);
  auto ready = HttpGet(central->http_address(), "/readyz");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->code, 503);
  EXPECT_THAT(ready->body, HasSubstr("not ready for writes: the data directory"));
  EXPECT_THAT(ready->body, HasSubstr("below --min-free-disk 16 MiB"));
  auto metrics = HttpGet(central->http_address(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(metrics->body, HasSubstr("kv_disk_reserve_exceeded 1"));
  EXPECT_THAT(metrics->body, HasSubstr("kv_disk_free_bytes "));
  // Reads go on.
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(kv.Get("before", &got).ok());
  EXPECT_TRUE(got.found());

  // Space returns: writes resume by themselves within a refresh interval.
  ASSERT_EQ(unlink((disk_->dir() + "/ballast").c_str()), 0);
  EXPECT_TRUE(WaitFor([&] { return kv.Put("after", value).ok(); }, absl::Seconds(10)));
  status = central->Status();
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->ready());
  EXPECT_FALSE(status->disk_reserve_exceeded());
  ready = HttpGet(central->http_address(), "/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->code, 200);
  EXPECT_TRUE(Alive(pid));
}

TEST_F(DiskFullTest, WritesThatFillTheDiskThemselvesAreRefusedBeforeRocksDbFails) {
  KvdProcess* central = StartCentralIn(disk_->dir() + "/central", {"--min-free-disk", "12MiB"});
  const pid_t pid = Pid(central);
  RawKv kv(central->address());
  const std::string value(kMiB, 'x');
  int written = 0, refused = 0, other = 0;
  std::string other_error, refusal;
  // 64 MiB cannot hold 100 MiB of values (each is in the WAL, then the data and the log). A
  // refused write is retried for a while: the refusal makes the node flush its memtables, after
  // which RocksDB deletes the WAL files and space returns, until the disk is really full.
  for (int i = 0; i < 100; ++i) {
    grpc::Status s;
    const bool accepted = WaitFor(
        [&] {
          s = kv.Put(absl::StrCat("fill/", i), value);
          if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++refused;
          return s.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED;
        },
        absl::Seconds(3), absl::Milliseconds(50));
    if (!accepted) {
      refusal = s.error_message();
      break;  // full: it stayed refused for 3 s
    }
    if (s.ok()) {
      ++written;
    } else {
      ++other;
      other_error = s.error_message();
    }
  }
  std::printf(
      "[disk] %d writes of 1 MiB accepted (%d refusals on the way), %llu MiB free; "
      "then: %s\n",
      written, refused, static_cast<unsigned long long>(FreeBytes(disk_->dir()) >> 20),
      refusal.c_str());
  EXPECT_GT(written, 15);  // flushes gave the WAL's space back at least once
  EXPECT_LT(written, 100);
  EXPECT_THAT(refusal, HasSubstr("--min-free-disk 12 MiB; writes resume when space returns"));
  EXPECT_EQ(other, 0) << "a write failed inside RocksDB: " << other_error;
  EXPECT_TRUE(Alive(pid));
  auto status = central->Status();
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->storage_writes_stopped()) << status->storage_error();
  EXPECT_EQ(status->head_version(), static_cast<uint64_t>(written));
  // The data written is all there after a clean restart.
  EXPECT_EQ(central->Stop(), 0);
  ASSERT_TRUE(central->Start().ok()) << central->ReadLog();
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(RawKv(central->address()).Get(absl::StrCat("fill/", written - 1), &got).ok());
  EXPECT_TRUE(got.found());
}

TEST_F(DiskFullTest, EdgeSnapshotThatDoesNotFitFailsCleanlyAndRetries) {
  // The central node on the ordinary disk, 40 MiB of values; the edge on the 64 MiB tmpfs
  // keeping 16 MiB free cannot hold them (they go to the WAL, then to table and blob files).
  KvdProcess* central = StartCentral({"--min-free-disk", "0"});
  RawKv kv(central->address());
  const std::string value(kMiB, 's');
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(kv.Put(absl::StrCat("big/", i), value).ok());
  KvdProcess* edge = StartFullEdgeIn("edge", disk_->dir() + "/edge", {"--min-free-disk", "16MiB"});
  const pid_t pid = Pid(edge);

  // It tries, is refused by its own reserve, backs off and tries again, staying up.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = edge->Status();
        return s.ok() && s->replication().reconnects() >= 2 &&
               s->replication().last_error().find("RESOURCE_EXHAUSTED") != std::string::npos;
      },
      absl::Seconds(60)))
      << edge->Status()->DebugString();
  auto status = edge->Status();
  ASSERT_TRUE(status.ok());
  EXPECT_THAT(status->replication().last_error(), HasSubstr("--min-free-disk 16 MiB"));
  EXPECT_EQ(status->replication().snapshots(), 0u);
  EXPECT_FALSE(status->ready());
  EXPECT_TRUE(Alive(pid));

  // Make the snapshot fit: the next retry succeeds on the space the failed ones gave back.
  for (int i = 0; i < 36; ++i) ASSERT_TRUE(kv.Delete(absl::StrCat("big/", i)).ok());
  ASSERT_TRUE(WaitReady(edge, absl::Seconds(60))) << edge->Status()->DebugString();
  status = edge->Status();
  EXPECT_GE(status->replication().snapshots(), 1u);
  kvstore::v1::GetResponse got;
  RawKv at_edge(edge->address());
  ASSERT_TRUE(at_edge.Get("big/39", &got).ok());
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.entry().value().size(), kMiB);
  EXPECT_TRUE(Alive(pid));
}

}  // namespace
}  // namespace kv::testing

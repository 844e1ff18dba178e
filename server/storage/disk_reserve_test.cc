#include "server/storage/disk_reserve.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "tests/support/temp_dir.h"

namespace kv::server {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1 << 20;

// A filesystem whose free space the test sets; counts the readings.
struct FakeDisk {
  std::shared_ptr<std::atomic<uint64_t>> free = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<std::atomic<int>> reads = std::make_shared<std::atomic<int>>(0);
  FreeSpaceFn Fn() const {
    return [free = free, reads = reads](const std::string&) -> absl::StatusOr<uint64_t> {
      ++*reads;
      return free->load();
    };
  }
};

DiskReserveOptions Options(const FakeDisk& disk, uint64_t min_free) {
  DiskReserveOptions o;
  o.min_free_bytes = min_free;
  o.refresh_interval = absl::Milliseconds(100);
  o.free_space = disk.Fn();
  return o;
}

TEST(DiskReserve, RefusesBelowTheReserveAndResumesWhenSpaceReturns) {
  FakeDisk disk;
  ManualClock clock;
  DiskReserve reserve("/data", Options(disk, 64 * kMiB), &clock);
  disk.free->store(40 * kMiB);
  absl::Status s = reserve.Admit(100);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("the data directory /data has 40 MiB free, below "
                                     "--min-free-disk 64 MiB; writes resume when space returns"));
  DiskState state = reserve.State();
  EXPECT_TRUE(state.exceeded);
  EXPECT_EQ(state.refusals, 1u);

  // Space comes back: within one refresh interval writes pass again, with nothing reset.
  disk.free->store(200 * kMiB);
  clock.AdvanceMicros(100'000);
  EXPECT_TRUE(reserve.Admit(100).ok());
  EXPECT_FALSE(reserve.State().exceeded);
}

TEST(DiskReserve, CountsAdmittedWritesUntilTheNextReading) {
  FakeDisk disk;
  ManualClock clock;
  DiskReserve reserve("/data", Options(disk, 10 * kMiB), &clock);
  disk.free->store(20 * kMiB);
  // Each 1 MiB batch is assumed to take 2 MiB (WAL now, table at flush): five fit, the sixth
  // would go below the reserve, all within one reading.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(reserve.Admit(kMiB).ok()) << i;
  absl::Status s = reserve.Admit(kMiB);
  EXPECT_TRUE(absl::IsResourceExhausted(s));
  EXPECT_THAT(s.message(), HasSubstr("this 1 MiB write would leave less than --min-free-disk"));
  EXPECT_EQ(*disk.reads, 1);
  // The next reading replaces the estimate.
  clock.AdvanceMicros(100'000);
  EXPECT_TRUE(reserve.Admit(kMiB).ok());
  EXPECT_EQ(*disk.reads, 2);
}

TEST(DiskReserve, ReclaimWritesMayUseTheReserveButNotItsFloor) {
  FakeDisk disk;
  ManualClock clock;
  DiskReserve reserve("/data", Options(disk, 64 * kMiB), &clock);
  disk.free->store(8 * kMiB);
  EXPECT_TRUE(absl::IsResourceExhausted(reserve.Admit(100)));
  EXPECT_TRUE(reserve.Admit(100, DiskReserve::Kind::kReclaim).ok());
  disk.free->store(DiskReserve::kFloorBytes / 2);
  clock.AdvanceMicros(100'000);
  EXPECT_TRUE(absl::IsResourceExhausted(reserve.Admit(100, DiskReserve::Kind::kReclaim)));
}

TEST(DiskReserve, ZeroTurnsTheCheckOffButStillReportsFreeSpace) {
  FakeDisk disk;
  ManualClock clock;
  DiskReserve reserve("/data", Options(disk, 0), &clock);
  disk.free->store(0);
  EXPECT_TRUE(reserve.Admit(kMiB).ok());
  disk.free->store(5 * kMiB);
  clock.AdvanceMicros(100'000);
  DiskState state = reserve.State();
  EXPECT_EQ(state.free_bytes, 5 * kMiB);
  EXPECT_FALSE(state.exceeded);
}

TEST(DiskReserve, AnUnreadableFilesystemDoesNotBlockWrites) {
  ManualClock clock;
  DiskReserveOptions o;
  o.min_free_bytes = 64 * kMiB;
  o.free_space = [](const std::string&) -> absl::StatusOr<uint64_t> {
    return absl::UnavailableError("no such filesystem");
  };
  DiskReserve reserve("/gone", o, &clock);
  EXPECT_TRUE(reserve.Admit(kMiB).ok());
  EXPECT_FALSE(reserve.State().exceeded);
}

TEST(DiskReserve, StatvfsReadsARealDirectory) {
  testing::TempDir dir;
  auto free = StatvfsFreeBytes(dir.path());
  ASSERT_TRUE(free.ok()) << free.status();
  EXPECT_GT(*free, 0u);
  EXPECT_FALSE(StatvfsFreeBytes(dir.path() + "/missing/dir").ok());
}

}  // namespace
}  // namespace kv::server

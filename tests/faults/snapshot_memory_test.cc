// Concurrent snapshots against a real central node: at most --max-concurrent-snapshots stream
// at once (the rest are refused with RESOURCE_EXHAUSTED, saying to retry), and the memory they
// took is given back when they end (VmRSS from /proc/PID/status before, at the peak, after).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/faults/fault_support.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/raw_kv.h"
#include "tests/support/wait_for.h"

namespace kv::testing {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1ull << 20;
constexpr int kSnapshots = 10;

struct Outcome {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  uint64_t bytes = 0;
};

class SnapshotMemoryTest : public ClusterFixture {
 protected:
  // Starts the central node with `limit` and 48 MiB of incompressible values.
  void StartLoaded(int limit) {
    KvdProcess* central = StartCentral({"--max-concurrent-snapshots", std::to_string(limit)});
    auto pid = ReadyFilePid(dir_.path(), "central");
    ASSERT_TRUE(pid.ok()) << pid.status();
    pid_ = *pid;
    RawKv kv(central->address());
    std::mt19937_64 rng(7);
    std::string value(kMiB, '\0');
    for (int i = 0; i < 48; ++i) {
      for (auto& c : value) c = static_cast<char>(rng());
      ASSERT_TRUE(kv.Put(absl::StrCat("snap/", i), value).ok());
    }
  }

  // Runs kSnapshots Snapshot calls at once. Each reads its first chunk (or refusal), waits for
  // the others to get that far, then reads to the end; `peak` is the node's VmRSS meanwhile.
  std::vector<Outcome> RunConcurrentSnapshots(uint64_t* peak) {
    std::vector<Outcome> outcomes(kSnapshots);
    std::atomic<int> started{0};
    std::atomic<bool> sampling{true};
    std::thread sampler([&] {
      while (sampling.load()) {
        *peak = std::max(*peak, ResidentBytes(pid_));
        absl::SleepFor(absl::Milliseconds(5));
      }
    });
    std::vector<std::thread> readers;
    for (int i = 0; i < kSnapshots; ++i) {
      readers.emplace_back([&, i] {
        auto stub = central_->ReplicationStub();
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
        kvstore::v1::SnapshotRequest request;
        request.set_node_id(absl::StrCat("reader-", i));
        auto reader = stub->Snapshot(&ctx, request);
        kvstore::v1::SnapshotChunk chunk;
        bool more = reader->Read(&chunk);
        if (more) outcomes[i].bytes += chunk.ByteSizeLong();
        ++started;
        WaitFor([&] { return started.load() == kSnapshots; }, absl::Seconds(60));
        while (more && reader->Read(&chunk)) outcomes[i].bytes += chunk.ByteSizeLong();
        grpc::Status s = reader->Finish();
        outcomes[i].code = s.error_code();
        outcomes[i].message = s.error_message();
      });
    }
    for (auto& t : readers) t.join();
    sampling = false;
    sampler.join();
    return outcomes;
  }

  pid_t pid_ = -1;
};

TEST_F(SnapshotMemoryTest, AtMostTheLimitStreamAndTheRestAreToldToRetry) {
  StartLoaded(2);
  const uint64_t before = ResidentBytes(pid_);
  uint64_t peak = before;
  std::vector<Outcome> outcomes = RunConcurrentSnapshots(&peak);
  int served = 0, refused = 0;
  for (const Outcome& o : outcomes) {
    if (o.code == grpc::StatusCode::OK) {
      ++served;
      EXPECT_GT(o.bytes, 48 * kMiB);
    } else {
      ++refused;
      EXPECT_EQ(o.code, grpc::StatusCode::RESOURCE_EXHAUSTED) << o.message;
      EXPECT_THAT(o.message, HasSubstr("already serving 2 snapshots (--max-concurrent-snapshots); "
                                       "retry after a backoff"));
    }
  }
  EXPECT_EQ(served, 2);
  EXPECT_EQ(refused, kSnapshots - 2);
  // Memory goes back once the last snapshot ends (malloc_trim), allowing for noise.
  uint64_t after = 0;
  WaitFor(
      [&] {
        after = ResidentBytes(pid_);
        return after < before + 24 * kMiB;
      },
      absl::Seconds(5));
  std::printf("[snapshots] limit 2: VmRSS before %llu MiB, peak %llu MiB, after %llu MiB\n",
              static_cast<unsigned long long>(before >> 20),
              static_cast<unsigned long long>(peak >> 20),
              static_cast<unsigned long long>(after >> 20));
  EXPECT_LT(peak, before + 96 * kMiB);
  EXPECT_LT(after, before + 24 * kMiB);
}

TEST_F(SnapshotMemoryTest, TenAtOnceGiveTheirMemoryBackWhenTheyEnd) {
  StartLoaded(kSnapshots);
  const uint64_t before = ResidentBytes(pid_);
  uint64_t peak = before;
  std::vector<Outcome> outcomes = RunConcurrentSnapshots(&peak);
  for (const Outcome& o : outcomes) {
    EXPECT_EQ(o.code, grpc::StatusCode::OK) << o.message;
    EXPECT_GT(o.bytes, 48 * kMiB);
  }
  uint64_t after = 0;
  WaitFor(
      [&] {
        after = ResidentBytes(pid_);
        return after < before + 24 * kMiB;
      },
      absl::Seconds(5));
  std::printf("[snapshots] limit 10: VmRSS before %llu MiB, peak %llu MiB, after %llu MiB\n",
              static_cast<unsigned long long>(before >> 20),
              static_cast<unsigned long long>(peak >> 20),
              static_cast<unsigned long long>(after >> 20));
  EXPECT_LT(after, before + 24 * kMiB);
}

}  // namespace
}  // namespace kv::testing

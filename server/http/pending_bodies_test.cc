#include "server/http/pending_bodies.h"

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/http/throttled_log.h"

namespace kv::server {
namespace {

constexpr size_t kMiB = 1 << 20;

TEST(PendingBodiesTest, OwnedBodiesAddUpToTheLimit) {
  PendingBodies pending(10 * kMiB);
  EXPECT_TRUE(pending.TryHold(nullptr, 4 * kMiB));
  EXPECT_TRUE(pending.TryHold(nullptr, 6 * kMiB));  // exactly the limit
  EXPECT_EQ(pending.bytes(), 10 * kMiB);
  EXPECT_FALSE(pending.TryHold(nullptr, 1 * kMiB));
  EXPECT_EQ(pending.bytes(), 10 * kMiB);  // a refusal holds nothing
  // Small bodies always pass, even above the limit.
  EXPECT_TRUE(pending.TryHold(nullptr, PendingBodies::kAlwaysAdmittedBytes));
  EXPECT_EQ(pending.bytes(), 10 * kMiB + PendingBodies::kAlwaysAdmittedBytes);
  pending.Release(nullptr, PendingBodies::kAlwaysAdmittedBytes);
  pending.Release(nullptr, 4 * kMiB);
  EXPECT_TRUE(pending.TryHold(nullptr, 4 * kMiB));
  pending.Release(nullptr, 4 * kMiB);
  pending.Release(nullptr, 6 * kMiB);
  EXPECT_EQ(pending.bytes(), 0u);
}

TEST(PendingBodiesTest, ASharedBodyCountsOnceWhileHeld) {
  PendingBodies pending(10 * kMiB);
  const std::string a, b;  // identities only
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(pending.TryHold(&a, 8 * kMiB));
  EXPECT_EQ(pending.bytes(), 8 * kMiB);
  EXPECT_FALSE(pending.TryHold(&b, 8 * kMiB));  // another body does not fit
  EXPECT_TRUE(pending.TryHold(&a, 8 * kMiB));   // the held one always does
  for (int i = 0; i < 5; ++i) pending.Release(&a, 8 * kMiB);
  EXPECT_EQ(pending.bytes(), 8 * kMiB);  // one holder left
  pending.Release(&a, 8 * kMiB);
  EXPECT_EQ(pending.bytes(), 0u);
  EXPECT_TRUE(pending.TryHold(&b, 8 * kMiB));
  pending.Release(&b, 8 * kMiB);
  EXPECT_EQ(pending.bytes(), 0u);
}

TEST(PendingBodiesTest, ConcurrentHoldsNeverPassTheLimit) {
  constexpr size_t kBody = kMiB;
  PendingBodies pending(8 * kBody);
  std::vector<std::thread> threads;
  std::atomic<bool> over{false};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (!pending.TryHold(nullptr, kBody)) continue;
        if (pending.bytes() > 8 * kBody) over = true;
        pending.Release(nullptr, kBody);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(over.load());
  EXPECT_EQ(pending.bytes(), 0u);
}

TEST(ThrottledLogTest, OneLinePerIntervalWithTheCount) {
  ThrottledLog log(absl::Seconds(10));
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  EXPECT_EQ(log.Occurred(t0), 1u);  // the first occurrence is reported at once
  EXPECT_EQ(log.Occurred(t0 + absl::Seconds(1)), 0u);
  EXPECT_EQ(log.Occurred(t0 + absl::Seconds(9)), 0u);
  EXPECT_EQ(log.Occurred(t0 + absl::Seconds(10)), 3u);  // 2 suppressed + this one
  EXPECT_EQ(log.Occurred(t0 + absl::Seconds(11)), 0u);
  EXPECT_EQ(log.Occurred(t0 + absl::Seconds(100)), 2u);
}

}  // namespace
}  // namespace kv::server

#include "client/retry.h"

#include <gtest/gtest.h>

namespace kv::client {
namespace {

TEST(RetryTest, RetryableCodes) {
  EXPECT_TRUE(IsRetryable(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"), false));
  EXPECT_TRUE(IsRetryable(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "x"), true));
  // The whole deadline is gone: another attempt cannot fit.
  EXPECT_FALSE(IsRetryable(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "x"), false));
  EXPECT_FALSE(IsRetryable(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "x"), true));
  EXPECT_FALSE(IsRetryable(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "x"), true));
  EXPECT_FALSE(IsRetryable(grpc::Status(grpc::StatusCode::INTERNAL, "x"), true));
}

TEST(RetryTest, ResourceExhaustedOnlyFromTransport) {
  EXPECT_TRUE(IsRetryable(
      grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "Server Threadpool Exhausted"), false));
  EXPECT_TRUE(IsRetryable(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                       "Received a GOAWAY with error code ENHANCE_YOUR_CALM"),
                          false));
  // The server's own limits and message-size errors are not transient.
  EXPECT_FALSE(IsRetryable(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                        "value: 30 MiB exceeds --max-value-bytes 25 MiB"),
                           false));
  EXPECT_FALSE(IsRetryable(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                        "Received message larger than max (1 vs. 0)"),
                           false));
}

TEST(RetryTest, BackoffDoublesUpToTheCap) {
  RetryPolicy p;
  p.initial_backoff = absl::Milliseconds(10);
  p.max_backoff = absl::Milliseconds(70);
  p.jitter = 0;
  EXPECT_EQ(Backoff(p, 0, 0.5), absl::ZeroDuration());
  EXPECT_EQ(Backoff(p, 1, 0.5), absl::Milliseconds(10));
  EXPECT_EQ(Backoff(p, 2, 0.5), absl::Milliseconds(20));
  EXPECT_EQ(Backoff(p, 3, 0.5), absl::Milliseconds(40));
  EXPECT_EQ(Backoff(p, 4, 0.5), absl::Milliseconds(70));
  EXPECT_EQ(Backoff(p, 60, 0.5), absl::Milliseconds(70));
}

TEST(RetryTest, JitterStaysInItsBand) {
  RetryPolicy p;
  p.initial_backoff = absl::Milliseconds(100);
  p.jitter = 0.2;
  EXPECT_EQ(Backoff(p, 1, 0.0), absl::Milliseconds(80));
  EXPECT_EQ(Backoff(p, 1, 0.5), absl::Milliseconds(100));
  for (int i = 0; i < 1000; ++i) {
    absl::Duration d = Backoff(p, 1, UnitRandom());
    ASSERT_GE(d, absl::Milliseconds(80));
    ASSERT_LE(d, absl::Milliseconds(120));
  }
}

}  // namespace
}  // namespace kv::client

// BulkWriter: pipelined Puts over the callback API, one reported outcome per Put.

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/testing/fake_kv_server.h"
#include "kv/client.h"

namespace kv::client {
namespace {

using testing::FakeKvServer;
using testing::Method;
using testing::RefusingPort;

// Outcomes by index, filled from gRPC threads.
struct Outcomes {
  explicit Outcomes(int n) : results(n), reports(n, 0) {}
  BulkWriter::Callback For(int i) {
    return [this, i](absl::StatusOr<PutResult> r) {
      absl::MutexLock l(&mu);
      results[i] = std::move(r);
      ++reports[i];
    };
  }
  absl::Mutex mu;
  std::vector<absl::StatusOr<PutResult>> results;
  std::vector<int> reports;
};

std::unique_ptr<Client> MakeClient(const std::string& write_endpoint) {
  ClientOptions o;
  o.write_endpoint = write_endpoint;
  o.timeout = absl::Seconds(5);
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Create(o);
  EXPECT_TRUE(c.ok());
  return std::move(*c);
}

TEST(BulkWriterTest, PipelinesPutsAndReportsEachOutcome) {
  FakeKvServer server;
  ASSERT_TRUE(server.Start().ok());
  server.SetPutDelay(absl::Milliseconds(20));
  for (int i = 0; i < 200; i += 10) server.Insert("k" + std::to_string(i), "existing");
  auto client = MakeClient(server.address());
  constexpr int kPuts = 200;
  Outcomes out(kPuts);
  const absl::Time start = absl::Now();
  {
    std::unique_ptr<BulkWriter> writer = client->NewBulkWriter({/*window=*/16});
    for (int i = 0; i < kPuts; ++i) {
      PutOptions options;
      options.if_version = 0;  // create only: every 10th key exists and must fail
      writer->Add("k" + std::to_string(i), "v" + std::to_string(i), options, out.For(i));
      EXPECT_LE(writer->InFlight(), 16);
    }
    writer->Flush();
    EXPECT_EQ(writer->InFlight(), 0);
  }
  const absl::Duration took = absl::Now() - start;
  absl::MutexLock l(&out.mu);
  for (int i = 0; i < kPuts; ++i) {
    ASSERT_EQ(out.reports[i], 1) << i;
    if (i % 10 == 0) {
      EXPECT_EQ(out.results[i].status().code(), absl::StatusCode::kFailedPrecondition) << i;
    } else {
      ASSERT_TRUE(out.results[i].ok()) << i << ": " << out.results[i].status();
      kvstore::v1::Entry e;
      ASSERT_TRUE(server.Lookup("k" + std::to_string(i), &e));
      EXPECT_EQ(e.value(), "v" + std::to_string(i));
      EXPECT_EQ(e.version(), out.results[i]->version);
    }
  }
  EXPECT_GT(server.max_concurrent_puts(), 4);
  EXPECT_LE(server.max_concurrent_puts(), 16);
  EXPECT_EQ(server.calls(Method::kPut), kPuts);  // no retries
  // One at a time would take 200 * 20 ms = 4 s.
  EXPECT_LT(took, absl::Seconds(2));
  EXPECT_EQ(client->session_version(), server.head_version());
}

TEST(BulkWriterTest, PutsOfOneKeyStayInOrder) {
  FakeKvServer server;
  ASSERT_TRUE(server.Start().ok());
  server.SetPutDelay(absl::Milliseconds(2));
  auto client = MakeClient(server.address());
  constexpr int kPuts = 30;
  Outcomes out(kPuts);
  std::unique_ptr<BulkWriter> writer = client->NewBulkWriter({/*window=*/8});
  for (int i = 0; i < kPuts; ++i) writer->Add("same", std::to_string(i), {}, out.For(i));
  writer->Flush();
  EXPECT_EQ(server.max_concurrent_puts(), 1);
  kvstore::v1::Entry e;
  ASSERT_TRUE(server.Lookup("same", &e));
  EXPECT_EQ(e.value(), std::to_string(kPuts - 1));
  absl::MutexLock l(&out.mu);
  for (int i = 1; i < kPuts; ++i) {
    ASSERT_TRUE(out.results[i].ok());
    EXPECT_GT(out.results[i]->version, out.results[i - 1]->version);
  }
}

TEST(BulkWriterTest, InvalidOptionsAreReportedWithoutSending) {
  FakeKvServer server;
  ASSERT_TRUE(server.Start().ok());
  auto client = MakeClient(server.address());
  Outcomes out(1);
  std::unique_ptr<BulkWriter> writer = client->NewBulkWriter();
  PutOptions options;
  options.ttl = absl::Milliseconds(1500);
  writer->Add("k", "v", options, out.For(0));
  writer->Flush();
  absl::MutexLock l(&out.mu);
  EXPECT_EQ(out.reports[0], 1);
  EXPECT_EQ(out.results[0].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.calls(Method::kPut), 0);
}

TEST(BulkWriterTest, UnreachableWriteEndpointFailsEveryPut) {
  RefusingPort dead;
  auto client = MakeClient(dead.address());
  constexpr int kPuts = 20;
  Outcomes out(kPuts);
  {
    std::unique_ptr<BulkWriter> writer = client->NewBulkWriter({/*window=*/4});
    for (int i = 0; i < kPuts; ++i) writer->Add("k" + std::to_string(i), "v", {}, out.For(i));
  }  // the destructor waits for every outcome
  absl::MutexLock l(&out.mu);
  for (int i = 0; i < kPuts; ++i) {
    EXPECT_EQ(out.reports[i], 1);
    EXPECT_EQ(out.results[i].status().code(), absl::StatusCode::kUnavailable);
    // Never connected, so never sent: known not applied.
    EXPECT_FALSE(IsOutcomeUnknown(out.results[i].status())) << out.results[i].status();
  }
}

TEST(BulkWriterTest, PutsWhoseAnswerIsLostAreOutcomeUnknown) {
  FakeKvServer server;
  ASSERT_TRUE(server.Start().ok());
  auto client = MakeClient(server.address());
  server.FailAfterApplyNext(Method::kPut, 3, grpc::StatusCode::UNAVAILABLE, "Socket closed");
  constexpr int kPuts = 6;
  Outcomes out(kPuts);
  {
    // One at a time, so the first three Puts are the ones that lose their answers.
    std::unique_ptr<BulkWriter> writer = client->NewBulkWriter({/*window=*/1});
    for (int i = 0; i < kPuts; ++i) writer->Add("k" + std::to_string(i), "v", {}, out.For(i));
  }
  absl::MutexLock l(&out.mu);
  for (int i = 0; i < kPuts; ++i) {
    kvstore::v1::Entry e;
    EXPECT_TRUE(server.Lookup("k" + std::to_string(i), &e)) << i;  // all applied
    if (i < 3) {
      EXPECT_TRUE(IsOutcomeUnknown(out.results[i].status())) << i << out.results[i].status();
      EXPECT_EQ(out.results[i].status().message(), "Socket closed");
    } else {
      EXPECT_TRUE(out.results[i].ok()) << i << out.results[i].status();
    }
  }
}

}  // namespace
}  // namespace kv::client

// Which failed writes prove nothing was applied, and the mark on the others: the rules, then
// the client's Put and Delete against a fake server that loses answers, a server that hangs up
// after the request, and a frozen node.

#include "client/write_outcome.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "client/testing/fake_kv_server.h"
#include "client/testing/hang_up_server.h"
#include "kv/client.h"

namespace kv::client {
namespace {

using grpc::StatusCode;
using testing::FakeKvServer;
using testing::HangUpServer;
using testing::Method;
using testing::SilentPort;

TEST(WriteOutcomeTest, RejectionsProveNothingWasApplied) {
  for (StatusCode code :
       {StatusCode::INVALID_ARGUMENT, StatusCode::FAILED_PRECONDITION,
        StatusCode::RESOURCE_EXHAUSTED, StatusCode::OUT_OF_RANGE, StatusCode::PERMISSION_DENIED,
        StatusCode::UNAUTHENTICATED, StatusCode::NOT_FOUND, StatusCode::ALREADY_EXISTS,
        StatusCode::UNIMPLEMENTED}) {
    EXPECT_TRUE(ProvesNotApplied(grpc::Status(code, "x"))) << code;
    EXPECT_FALSE(IsOutcomeUnknown(WriteFailure(grpc::Status(code, "x")))) << code;
  }
}

TEST(WriteOutcomeTest, FailuresAfterSendingLeaveTheOutcomeUnknown) {
  for (StatusCode code :
       {StatusCode::UNAVAILABLE, StatusCode::DEADLINE_EXCEEDED, StatusCode::CANCELLED,
        StatusCode::UNKNOWN, StatusCode::INTERNAL, StatusCode::ABORTED, StatusCode::DATA_LOSS}) {
    EXPECT_FALSE(ProvesNotApplied(grpc::Status(code, "Socket closed"))) << code;
    absl::Status s = WriteFailure(grpc::Status(code, "Socket closed"));
    EXPECT_TRUE(IsOutcomeUnknown(s)) << code;
    EXPECT_EQ(static_cast<int>(s.code()), static_cast<int>(code));
    EXPECT_EQ(s.message(), "Socket closed");
  }
}

TEST(WriteOutcomeTest, ConnectFailuresProveNothingWasSent) {
  // gRPC 1.51's messages for a call that never got a connection.
  for (const char* m :
       {"failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Failed to "
        "connect to remote host: Connection refused",
        "DNS resolution failed for nowhere.invalid:1: C-ares status is not ARES_SUCCESS",
        "empty address list: "}) {
    EXPECT_TRUE(ProvesNotApplied(grpc::Status(StatusCode::UNAVAILABLE, m))) << m;
  }
  // Only at the start: an edge that names its upstream's failure inside its own message may
  // have reached that upstream first.
  EXPECT_FALSE(ProvesNotApplied(
      grpc::Status(StatusCode::UNAVAILABLE,
                   "edge e forwards writes to c, which is unreachable: Socket closed")));
  EXPECT_FALSE(ProvesNotApplied(grpc::Status(StatusCode::UNAVAILABLE, "Connection reset by peer")));
}

TEST(WriteOutcomeTest, TheMarkIsAPayloadThatShowsWhenPrinted) {
  EXPECT_FALSE(IsOutcomeUnknown(absl::OkStatus()));
  EXPECT_FALSE(IsOutcomeUnknown(MarkOutcomeUnknown(absl::OkStatus())));
  EXPECT_FALSE(IsOutcomeUnknown(absl::UnavailableError("x")));
  absl::Status marked = MarkOutcomeUnknown(absl::UnavailableError("Socket closed"));
  EXPECT_TRUE(IsOutcomeUnknown(marked));
  EXPECT_TRUE(absl::IsUnavailable(marked));
  EXPECT_EQ(marked.message(), "Socket closed");
  EXPECT_NE(marked.ToString().find("the write may have been applied"), std::string::npos) << marked;
  absl::Status copy = marked;  // survives copies
  EXPECT_TRUE(IsOutcomeUnknown(copy));
  EXPECT_TRUE(IsOutcomeUnknown(absl::StatusOr<int>(marked).status()));
}

class WriteOutcomeClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(central_.Start().ok()); }

  ClientOptions Options() {
    ClientOptions o;
    o.write_endpoint = central_.address();
    o.timeout = absl::Seconds(5);
    return o;
  }

  std::unique_ptr<Client> Make(const ClientOptions& o) {
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Create(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  FakeKvServer central_{"central"};
};

// The central node committed the write, then the answer was lost.
TEST_F(WriteOutcomeClientTest, AWriteAppliedWithoutAnAnswerIsOutcomeUnknown) {
  auto c = Make(Options());
  for (grpc::StatusCode code :
       {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::INTERNAL, grpc::StatusCode::UNKNOWN,
        grpc::StatusCode::CANCELLED, grpc::StatusCode::ABORTED}) {
    const std::string key = "k" + std::to_string(static_cast<int>(code));
    central_.FailAfterApplyNext(Method::kPut, 1, code, "Socket closed");
    absl::StatusOr<PutResult> w = c->Put(key, "v");
    ASSERT_FALSE(w.ok()) << code;
    EXPECT_EQ(static_cast<int>(w.status().code()), static_cast<int>(code));
    EXPECT_EQ(w.status().message(), "Socket closed");  // the code and message stay as sent
    EXPECT_TRUE(IsOutcomeUnknown(w.status())) << w.status();
    EXPECT_NE(w.status().ToString().find("the write may have been applied"), std::string::npos)
        << w.status();
    kvstore::v1::Entry e;
    EXPECT_TRUE(central_.Lookup(key, &e)) << "the fake applied it: " << code;
  }
  central_.Insert("to-delete", "v");
  central_.FailAfterApplyNext(Method::kDelete, 1, grpc::StatusCode::UNAVAILABLE, "Socket closed");
  absl::StatusOr<DeleteResult> d = c->Delete("to-delete");
  EXPECT_TRUE(IsOutcomeUnknown(d.status())) << d.status();
  kvstore::v1::Entry e;
  EXPECT_FALSE(central_.Lookup("to-delete", &e));
  // Not a lasting state: the next write has a known outcome.
  EXPECT_TRUE(c->Put("k", "v").ok());
}

TEST_F(WriteOutcomeClientTest, ADeadlineAfterSendingIsOutcomeUnknown) {
  ClientOptions o = Options();
  o.timeout = absl::Milliseconds(300);
  auto c = Make(o);
  ASSERT_TRUE(c->Put("warm", "v").ok());  // connected, so the deadline runs out mid-call
  central_.FailAfterApplyNext(Method::kPut, 1, grpc::StatusCode::OK, "", absl::Seconds(10));
  absl::StatusOr<PutResult> w = c->Put("slow", "v");
  EXPECT_EQ(w.status().code(), absl::StatusCode::kDeadlineExceeded) << w.status();
  EXPECT_TRUE(IsOutcomeUnknown(w.status())) << w.status();
  kvstore::v1::Entry e;
  EXPECT_TRUE(central_.Lookup("slow", &e));
}

// A real connection that breaks after the request went out: no answer at all.
TEST_F(WriteOutcomeClientTest, AConnectionThatBreaksAfterTheRequestIsOutcomeUnknown) {
  HangUpServer dying("hang-up-marker");
  ASSERT_TRUE(dying.ok());
  ClientOptions o = Options();
  o.write_endpoint = dying.address();
  auto c = Make(o);
  absl::StatusOr<PutResult> w = c->Put("hang-up-marker", "v");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), absl::StatusCode::kUnavailable) << w.status();
  EXPECT_TRUE(IsOutcomeUnknown(w.status())) << w.status();
  EXPECT_EQ(dying.hang_ups(), 1);
  // A client with a connection of its own (gRPC shares connections between channels with equal
  // arguments): the first one's may not have noticed the break yet, and a Delete sent on the dead
  // connection, also an unknown outcome, would never reach the server.
  o.max_message_bytes += 1;
  c = Make(o);
  absl::StatusOr<DeleteResult> d = c->Delete("hang-up-marker");
  EXPECT_TRUE(IsOutcomeUnknown(d.status())) << d.status();
  EXPECT_EQ(dying.hang_ups(), 2);
}

// A node that accepts connections but never speaks (frozen): the write never left the client.
TEST_F(WriteOutcomeClientTest, ADeadlineBeforeTheConnectionIsKnownNotApplied) {
  SilentPort frozen;
  ClientOptions o = Options();
  o.write_endpoint = frozen.address();
  o.timeout = absl::Milliseconds(300);
  auto c = Make(o);
  const absl::Time start = absl::Now();
  absl::Status s = c->Put("k", "v").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_FALSE(IsOutcomeUnknown(s)) << s;
  EXPECT_NE(s.message().find("nothing was sent"), absl::string_view::npos) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  s = c->Delete("k").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_FALSE(IsOutcomeUnknown(s)) << s;
}

TEST_F(WriteOutcomeClientTest, RejectedWritesAreKnownNotApplied) {
  auto c = Make(Options());
  for (grpc::StatusCode code :
       {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::FAILED_PRECONDITION,
        grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::OUT_OF_RANGE,
        grpc::StatusCode::UNIMPLEMENTED}) {
    central_.FailNext(Method::kPut, 1, code, "no");
    absl::Status s = c->Put("k", "v").status();
    EXPECT_EQ(static_cast<int>(s.code()), static_cast<int>(code));
    EXPECT_FALSE(IsOutcomeUnknown(s)) << s;
  }
  PutOptions create;
  create.if_version = 0;
  ASSERT_TRUE(c->Put("cas", "1", create).ok());
  absl::Status lost = c->Put("cas", "2", create).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(lost)) << lost;
  EXPECT_FALSE(IsOutcomeUnknown(lost));
  // Reads are never marked.
  central_.FailNext(Method::kGet, -1, grpc::StatusCode::UNAVAILABLE, "down");
  ClientOptions once = Options();
  once.retry.max_attempts = 1;
  absl::Status read = Make(once)->Get("k").status();
  EXPECT_TRUE(absl::IsUnavailable(read)) << read;
  EXPECT_FALSE(IsOutcomeUnknown(read));
}

}  // namespace
}  // namespace kv::client

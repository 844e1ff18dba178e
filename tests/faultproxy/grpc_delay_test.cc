// A real gRPC unary call through the proxy: a one-way delay of 50 ms each way must add at least
// 100 ms to the round trip on an established HTTP/2 connection.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "kvstore/v1/admin.grpc.pb.h"
#include "tests/faultproxy/fault_proxy.h"
#include "tests/faultproxy/test_util.h"

namespace kv::testing {
namespace {

class TrivialAdmin final : public kvstore::v1::Admin::CallbackService {
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx,
                                   const kvstore::v1::StatusRequest*,
                                   kvstore::v1::StatusResponse* resp) override {
    resp->set_role("central");
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// Round trip of one Status call, or an infinite duration if it failed.
absl::Duration CallOnce(kvstore::v1::Admin::Stub& stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  kvstore::v1::StatusResponse resp;
  const absl::Time start = absl::Now();
  grpc::Status s = stub.Status(&ctx, kvstore::v1::StatusRequest(), &resp);
  const absl::Duration rtt = absl::Now() - start;
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.role(), "central");
  return s.ok() ? rtt : absl::InfiniteDuration();
}

absl::Duration MinOf(kvstore::v1::Admin::Stub& stub, int calls) {
  absl::Duration best = absl::InfiniteDuration();
  for (int i = 0; i < calls; ++i) best = std::min(best, CallOnce(stub));
  return best;
}

TEST(GrpcThroughFaultProxyTest, OneWayDelayAddsToUnaryRoundTrip) {
  TrivialAdmin service;
  int server_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &server_port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(server_port, 0);

  FaultProxy proxy(ProxyTo(absl::StrCat("127.0.0.1:", server_port)));
  ASSERT_TRUE(proxy.Start().ok());
  auto channel = grpc::CreateChannel(proxy.listen_address(), grpc::InsecureChannelCredentials());
  auto stub = kvstore::v1::Admin::NewStub(channel);

  const absl::Duration baseline = MinOf(*stub, 5);  // the first call also connects
  proxy.SetDelay(Direction::kClientToServer, absl::Milliseconds(50));
  proxy.SetDelay(Direction::kServerToClient, absl::Milliseconds(50));
  const absl::Duration delayed = MinOf(*stub, 3);
  EXPECT_GE(delayed, absl::Milliseconds(100));
  EXPECT_GE(delayed - baseline, absl::Milliseconds(95)) << "baseline " << baseline;
  EXPECT_LT(delayed, absl::Milliseconds(400));
  EXPECT_EQ(proxy.stats().connections_accepted, 1u);  // one HTTP/2 connection, reused
  std::cout << "[ measured ] gRPC unary round trip: baseline " << absl::FormatDuration(baseline)
            << ", with 50ms each way " << absl::FormatDuration(delayed) << "\n";

  proxy.ClearFaults();
  EXPECT_LT(MinOf(*stub, 3), absl::Milliseconds(50));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace
}  // namespace kv::testing

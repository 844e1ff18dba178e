// Descriptor exhaustion with real kvd processes (issue "Hardening": with idle connections
// filling `ulimit -n 256`, gRPC 1.51's listener logged one `accept4: Too many open files` and
// never accepted again, while readiness still said ready). Each node here starts with
// RLIMIT_NOFILE 256: a burst of idle TCP connections to its gRPC port is capped at
// --max-connections (the excess reset at once, no EMFILE), readiness turns false while new
// connections are refused, and once the idle connections close the node takes new connections
// and writes again. docs/faults.md, "File descriptors and connections".

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/faults/fault_support.h"
#include "tests/support/kvd_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"

namespace kv::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kDescriptorLimit = 256;
// More than the limit: without the cap, the listener would die on EMFILE.
constexpr int kIdleConnections = 400;  // more than the 300 under `ulimit -n 256`

// A plain TCP connection to 127.0.0.1:`port` that sends nothing (an idle client); -1 if the
// connect itself failed (the server may reset it before connect returns).
int ConnectIdle(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True when the server has closed or reset `fd` (it sends nothing before the client's preface,
// so a readable idle connection has ended).
bool ClosedByServer(int fd) {
  pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  char byte;
  return recv(fd, &byte, 1, MSG_DONTWAIT) <= 0;
}

int PortOf(const std::string& address) {
  int port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port)) << address;
  return port;
}

std::string ReadyzBody(const std::string& http_address, int* code) {
  auto answer = HttpGet(http_address, "/readyz");
  *code = answer.ok() ? answer->code : 0;
  return answer.ok() ? answer->body : std::string(answer.status().message());
}

grpc::Status PutOverNewConnection(const KvdProcess& node, const std::string& key) {
  auto stub = node.KvStub();  // its own subchannel pool: a new connection
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  kvstore::v1::PutRequest request;
  request.set_key(key);
  request.set_value("v");
  kvstore::v1::PutResponse response;
  return stub->Put(&ctx, request, &response);
}

class DescriptorLimitTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (int fd : idle_) close(fd);
    if (node_ != nullptr && HasFailure()) {
      std::cerr << "---- " << node_->name() << " log ----\n" << node_->ReadLog();
    }
    if (node_ != nullptr) node_->Stop();
  }

  KvdProcess* StartNode(std::string name, std::vector<std::string> args) {
    node_ = std::make_unique<KvdProcess>(std::move(name), std::move(args), dir_.path());
    node_->set_descriptor_limit(kDescriptorLimit);
    return node_.get();
  }

  // Opens kIdleConnections idle connections at once (a burst) and counts those the server ended
  // within 2 s.
  int FloodWithIdleConnections(int port) {
    for (int i = 0; i < kIdleConnections; ++i) {
      int fd = ConnectIdle(port);
      if (fd >= 0) idle_.push_back(fd);
    }
    int ended = kIdleConnections - static_cast<int>(idle_.size());
    absl::SleepFor(absl::Seconds(1));
    for (int fd : idle_) {
      if (ClosedByServer(fd)) ++ended;
    }
    return ended;
  }

  void CloseIdleConnections() {
    for (int fd : idle_) close(fd);
    idle_.clear();
  }

  TempDir dir_;
  std::unique_ptr<KvdProcess> node_;
  std::vector<int> idle_;
};

// The scenario of the issue on the central node: a burst of idle gRPC connections beyond the
// descriptor limit, then they go away.
TEST_F(DescriptorLimitTest, IdleConnectionsAreCappedAndTheListenerRecovers) {
  KvdProcess* central =
      StartNode("central", {"central", "--data-dir", dir_.path() + "/central", "--node-id",
                            "central", "--http", "127.0.0.1:0", "--http-max-connections", "16"});
  ASSERT_TRUE(central->Start().ok()) << central->ReadLog();
  // Two thirds of 256 - 64 reserved - 16 for HTTP (176 - 58).
  EXPECT_THAT(central->ReadLog(), HasSubstr("descriptor limit 256"));
  EXPECT_THAT(central->ReadLog(), HasSubstr("gRPC connections capped at 118"));
  ASSERT_TRUE(PutOverNewConnection(*central, "before").ok());
  int code = 0;
  EXPECT_EQ(ReadyzBody(central->http_address(), &code), "ready\n");
  // A connection opened before the flood: calls on it keep working, so Status can be read.
  auto admin = central->AdminStub();
  ASSERT_TRUE(central->Status().ok());
  {
    grpc::ClientContext ctx;
    kvstore::v1::StatusResponse status;
    ASSERT_TRUE(admin->Status(&ctx, {}, &status).ok());
    EXPECT_TRUE(status.ready());
  }

  const int ended = FloodWithIdleConnections(PortOf(central->address()));
  // Everything beyond the cap (less what the node itself holds open) is ended at once.
  EXPECT_GE(ended, kIdleConnections - 118) << "connections reset by the server";

  // New connections are refused cleanly: the write fails UNAVAILABLE, nothing hangs.
  grpc::Status refused = PutOverNewConnection(*central, "during");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  // Readiness says so, with the reason, within a few self-check intervals.
  std::string body;
  EXPECT_TRUE(WaitFor(
      [&] {
        body = ReadyzBody(central->http_address(), &code);
        return code == 503;
      },
      absl::Seconds(10), absl::Milliseconds(100)))
      << code << " " << body;
  EXPECT_THAT(body, HasSubstr("does not answer a new connection"));
  EXPECT_THAT(body, HasSubstr("--max-connections 118"));
  auto metrics = HttpGet(central->http_address(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(metrics->body, HasSubstr("kv_ready 0\n"));
  EXPECT_THAT(metrics->body, HasSubstr("kv_grpc_max_connections 118\n"));
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    kvstore::v1::StatusResponse status;
    ASSERT_TRUE(admin->Status(&ctx, {}, &status).ok());
    EXPECT_FALSE(status.ready());
    EXPECT_THAT(status.not_ready_reason(), HasSubstr("does not answer a new connection"));
  }

  // The idle clients go away: the node accepts again, becomes ready and takes writes.
  CloseIdleConnections();
  EXPECT_TRUE(WaitFor(
      [&] {
        body = ReadyzBody(central->http_address(), &code);
        return code == 200;
      },
      absl::Seconds(10), absl::Milliseconds(100)))
      << code << " " << body;
  grpc::Status after = PutOverNewConnection(*central, "after");
  EXPECT_TRUE(after.ok()) << after.error_message();
  auto status = central->Status();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(status->ready()) << status->not_ready_reason();

  // The listener never ran out of descriptors.
  EXPECT_THAT(central->ReadLog(), Not(HasSubstr("Too many open files")));
  EXPECT_THAT(central->ReadLog(), HasSubstr("gRPC connection(s): --max-connections 118"));
}

// The same on an edge, with an explicit --max-connections; the edge keeps following its
// upstream throughout.
TEST_F(DescriptorLimitTest, EdgeHonoursAnExplicitCap) {
  KvdProcess central("central", {"central", "--data-dir", dir_.path() + "/central"}, dir_.path());
  ASSERT_TRUE(central.Start().ok()) << central.ReadLog();
  KvdProcess* edge =
      StartNode("edge", {"edge", "--mode", "full", "--upstream", central.address(), "--data-dir",
                         dir_.path() + "/edge", "--node-id", "edge", "--http", "127.0.0.1:0",
                         "--http-max-connections", "16", "--max-connections", "50"});
  ASSERT_TRUE(edge->Start().ok()) << edge->ReadLog();
  EXPECT_THAT(edge->ReadLog(), HasSubstr("gRPC connections capped at 50"));
  int code = 0;
  std::string body;
  ASSERT_TRUE(WaitFor([&] {
    body = ReadyzBody(edge->http_address(), &code);
    return code == 200;
  })) << body;

  const int ended = FloodWithIdleConnections(PortOf(edge->address()));
  EXPECT_GE(ended, kIdleConnections - 50);
  EXPECT_EQ(PutOverNewConnection(*edge, "during").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(WaitFor(
      [&] {
        body = ReadyzBody(edge->http_address(), &code);
        return code == 503;
      },
      absl::Seconds(10), absl::Milliseconds(100)))
      << code << " " << body;
  EXPECT_THAT(body, HasSubstr("--max-connections 50"));

  CloseIdleConnections();
  EXPECT_TRUE(WaitFor(
      [&] {
        body = ReadyzBody(edge->http_address(), &code);
        return code == 200;
      },
      absl::Seconds(10), absl::Milliseconds(100)))
      << code << " " << body;
  // A write through the edge (forwarded to the central node) works again.
  grpc::Status after = PutOverNewConnection(*edge, "after");
  EXPECT_TRUE(after.ok()) << after.error_message();
  EXPECT_THAT(edge->ReadLog(), Not(HasSubstr("Too many open files")));
  central.Stop();
}

// A cap that does not fit under the descriptor limit is refused at start, naming both.
TEST_F(DescriptorLimitTest, ACapAboveTheLimitIsRefusedAtStart) {
  KvdProcess* central = StartNode(
      "central", {"central", "--data-dir", dir_.path() + "/central", "--max-connections", "500"});
  absl::Status started = central->Start(absl::Seconds(10));
  ASSERT_FALSE(started.ok());
  EXPECT_THAT(std::string(started.message()),
              HasSubstr("--max-connections 500 does not fit under the descriptor limit 256"));
}

}  // namespace
}  // namespace kv::testing

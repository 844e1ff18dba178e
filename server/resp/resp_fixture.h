#pragma once
// For tests: a RespServer on 127.0.0.1 (a free port) over a FakeNode, and clients of it.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/resp/fake_node.h"
#include "server/resp/resp_server.h"
#include "server/resp/resp_test_client.h"

namespace kv::server::resp::testing {

class RespFixture : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(RespServerOptions()); }
  void TearDown() override { StopServer(); }

  // (Re)starts the server with `options` (listen and threads are set here) and connects
  // client().
  void StartServer(RespServerOptions options) {
    StopServer();
    options.listen = "127.0.0.1:0";
    if (options.threads == 1) options.threads = 2;  // replies cross threads in every test
    server_ = std::make_unique<RespServer>(&node_, options);
    absl::Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s;
    client_.emplace(Connect());
  }
  void StopServer() {
    client_.reset();
    if (server_) server_->Stop();
    server_.reset();
  }

  RespTestClient Connect(int receive_buffer = 0) {
    absl::StatusOr<RespTestClient> c = RespTestClient::Connect(server_->port(), receive_buffer);
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }
  RespTestClient& client() { return *client_; }
  // The reply to `args` on client(), as RespValue::ToString() text.
  std::string Call(const std::vector<std::string>& args) { return client_->CallText(args); }
  RespValue Value(const std::vector<std::string>& args) {
    absl::StatusOr<RespValue> v = client_->Call(args);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : RespValue();
  }

  FakeNode node_;  // first: outlives the server and every command in flight
  std::unique_ptr<RespServer> server_;
  std::optional<RespTestClient> client_;
};

}  // namespace kv::server::resp::testing

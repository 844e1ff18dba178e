// The control language, the control socket, and the faultproxy binary.
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/faultproxy/address.h"
#include "tests/faultproxy/control_command.h"
#include "tests/faultproxy/control_server.h"
#include "tests/faultproxy/fault_proxy.h"
#include "tests/faultproxy/test_util.h"

extern char** environ;

namespace kv::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr Direction kC2S = Direction::kClientToServer;
constexpr Direction kS2C = Direction::kServerToClient;

TEST(AddressTest, ParsesHostPort) {
  auto a = ParseHostPort("127.0.0.1:80");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 80);
  auto b = ParseHostPort("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(FormatHostPort(b->host, 5), "[::1]:5");
  auto c = ParseHostPort(":9");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_FALSE(ParseHostPort("localhost").ok());
  EXPECT_FALSE(ParseHostPort("h:70000").ok());
  EXPECT_FALSE(ParseHostPort("::1:80").ok());
}

// The language works on a proxy that is not started: faults are just recorded.
TEST(ControlCommandTest, SetsFaults) {
  FaultProxy proxy(ProxyTo("127.0.0.1:1"));
  EXPECT_THAT(ExecuteControlCommand(proxy, "delay s2c 100ms 10ms"), StartsWith("ok"));
  EXPECT_EQ(proxy.faults()[kS2C].delay, absl::Milliseconds(100));
  EXPECT_EQ(proxy.faults()[kS2C].jitter, absl::Milliseconds(10));
  EXPECT_EQ(proxy.faults()[kC2S].delay, absl::ZeroDuration());

  EXPECT_EQ(ExecuteControlCommand(proxy, "bandwidth c2s 1MiB"), "ok bandwidth=1048576");
  EXPECT_EQ(proxy.faults()[kC2S].bytes_per_second, 1048576u);
  EXPECT_EQ(ExecuteControlCommand(proxy, "BANDWIDTH both 64KiB/s"), "ok bandwidth=65536");
  EXPECT_EQ(proxy.faults()[kS2C].bytes_per_second, 65536u);
  EXPECT_EQ(ExecuteControlCommand(proxy, "bandwidth s2c off"), "ok bandwidth=0");
  EXPECT_EQ(proxy.faults()[kS2C].bytes_per_second, 0u);

  EXPECT_EQ(ExecuteControlCommand(proxy, "pause c2s"), "ok");
  EXPECT_TRUE(proxy.faults()[kC2S].paused);
  EXPECT_FALSE(proxy.faults()[kS2C].paused);
  EXPECT_EQ(ExecuteControlCommand(proxy, "pause"), "ok");
  EXPECT_TRUE(proxy.faults()[kS2C].paused);
  EXPECT_EQ(ExecuteControlCommand(proxy, "resume both"), "ok");
  EXPECT_FALSE(proxy.faults()[kC2S].paused || proxy.faults()[kS2C].paused);

  EXPECT_EQ(ExecuteControlCommand(proxy, "refuse on"), "ok refuse=on");
  EXPECT_TRUE(proxy.faults().refuse_new);
  EXPECT_THAT(ExecuteControlCommand(proxy, "show"),
              HasSubstr("s2c_delay=100ms s2c_jitter=10ms s2c_bandwidth=0 s2c_paused=0 "
                        "refuse_new=1"));
  EXPECT_EQ(ExecuteControlCommand(proxy, "clear"), "ok");
  EXPECT_EQ(proxy.faults().ToString(), FaultSettings().ToString());
  EXPECT_EQ(ExecuteControlCommand(proxy, "cut"), "ok cut=0");
  EXPECT_THAT(ExecuteControlCommand(proxy, "stats"), StartsWith("ok accepted=0 active=0"));
  EXPECT_EQ(ExecuteControlCommand(proxy, "ping"), "ok pong");
}

TEST(ControlCommandTest, RejectsBadInput) {
  FaultProxy proxy(ProxyTo("127.0.0.1:1"));
  for (const char* bad :
       {"", "   ", "fly", "delay", "delay up 1ms", "delay c2s soon", "delay c2s 1ms 2ms 3ms",
        "delay c2s -5ms", "bandwidth c2s", "bandwidth c2s lots", "pause sideways", "refuse",
        "refuse maybe", "cut now", "stats please"}) {
    EXPECT_THAT(ExecuteControlCommand(proxy, bad), StartsWith("error ")) << "'" << bad << "'";
  }
  EXPECT_EQ(proxy.faults().ToString(), FaultSettings().ToString());
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(echo_.Start().ok());
    proxy_ = std::make_unique<FaultProxy>(ProxyTo(echo_.address()));
    ASSERT_TRUE(proxy_->Start().ok());
    control_ = std::make_unique<ControlServer>(proxy_.get());
    ASSERT_TRUE(control_->Start().ok());
    auto c = TestClient::Connect(control_->port());
    ASSERT_TRUE(c.ok()) << c.status();
    ctl_ = std::move(*c);
  }

  std::string Command(const std::string& line) {
    EXPECT_TRUE(ctl_->SendAll(line + "\n").ok());
    auto answer = ctl_->ReadLine(absl::Seconds(3));
    EXPECT_TRUE(answer.ok()) << answer.status();
    return answer.ok() ? *answer : "";
  }

  EchoServer echo_;
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<TestClient> ctl_;
};

TEST_F(ControlServerTest, CommandsOverTheSocketDriveTheProxy) {
  auto data = TestClient::Connect(proxy_->port());
  ASSERT_TRUE(data.ok());
  TestClient& c = **data;

  EXPECT_THAT(Command("delay c2s 100ms"), StartsWith("ok"));
  const absl::Time start = absl::Now();
  ASSERT_TRUE(c.SendAll("hi").ok());
  ASSERT_TRUE(c.ReadExactly(2, absl::Seconds(3)).ok());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));

  EXPECT_EQ(Command("pause"), "ok");
  ASSERT_TRUE(c.SendAll("held").ok());
  auto early = c.ReadFor(absl::Milliseconds(250));
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(*early, "");
  EXPECT_EQ(Command("resume"), "ok");
  auto got = c.ReadExactly(4, absl::Seconds(3));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "held");

  EXPECT_THAT(Command("stats"), StartsWith("ok accepted=1 active=1 "));
  EXPECT_THAT(Command("nonsense"), StartsWith("error unknown command"));
  EXPECT_EQ(Command("cut"), "ok cut=1");
  EXPECT_EQ(c.WaitForEnd(absl::Seconds(2)), TestClient::End::kReset);

  EXPECT_EQ(Command("refuse on"), "ok refuse=on");
  auto refused = TestClient::Connect(proxy_->port());
  if (refused.ok()) {
    EXPECT_NE((*refused)->WaitForEnd(absl::Seconds(2)), TestClient::End::kStillOpen);
  }
  EXPECT_EQ(Command("refuse off"), "ok refuse=off");
  EXPECT_THAT(Command("stats"), HasSubstr("refused=1 cut=1"));

  EXPECT_EQ(Command("quit"), "ok bye");
  EXPECT_EQ(ctl_->WaitForEnd(absl::Seconds(2)), TestClient::End::kEof);
}

TEST_F(ControlServerTest, StopClosesControlConnections) {
  EXPECT_EQ(Command("ping"), "ok pong");
  control_->Stop();
  EXPECT_NE(ctl_->WaitForEnd(absl::Seconds(2)), TestClient::End::kStillOpen);
}

// Starts the real binary, reads its address line, and drives it over the control socket.
TEST(FaultProxyBinaryTest, PrintsAddressesAndObeysControl) {
  EchoServer echo;
  ASSERT_TRUE(echo.Start().ok());

  int out[2];
  ASSERT_EQ(pipe(out), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  const std::string target = echo.address();
  std::vector<std::string> args = {KV_FAULTPROXY_BINARY, "--target", target, "--control",
                                   "127.0.0.1:0"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);

  // Read the one address line (bounded wait).
  std::string line;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!absl::StrContains(line, '\n') && absl::Now() < deadline) {
    pollfd pfd{out[0], POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, n);
  }
  close(out[0]);
  std::map<std::string, std::string> fields;
  for (absl::string_view kv : absl::StrSplit(line.substr(0, line.find('\n')), ' ')) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    fields[p.first] = p.second;
  }
  EXPECT_EQ(fields["target"], target) << line;
  auto listen = ParseHostPort(fields["listen"]);
  auto control = ParseHostPort(fields["control"]);
  if (listen.ok() && control.ok()) {
    auto ctl = TestClient::Connect(control->port);
    auto c = TestClient::Connect(listen->port);
    ASSERT_TRUE(ctl.ok() && c.ok());
    ASSERT_TRUE((*ctl)->SendAll("delay s2c 100ms\n").ok());
    auto answer = (*ctl)->ReadLine(absl::Seconds(3));
    EXPECT_TRUE(answer.ok() && absl::StartsWith(*answer, "ok")) << answer.status();
    const absl::Time start = absl::Now();
    ASSERT_TRUE((*c)->SendAll("via binary").ok());
    auto got = (*c)->ReadExactly(10, absl::Seconds(3));
    EXPECT_TRUE(got.ok() && *got == "via binary") << got.status();
    EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  } else {
    ADD_FAILURE() << "bad address line: '" << line << "'";
  }

  // SIGTERM stops it cleanly; SIGKILL only if it hangs.
  kill(pid, SIGTERM);
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 500 && done == 0; ++i) {
    done = waitpid(pid, &status, WNOHANG);
    if (done == 0) absl::SleepFor(absl::Milliseconds(10));
  }
  if (done == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL() << "faultproxy did not exit on SIGTERM";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace kv::testing

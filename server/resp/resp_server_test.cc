// The server's limits and ordering: pipelines answered in order while the node answers out of
// order, flow control, hostile lengths, half commands, connection cap, idle timeout, clients
// that do not read, shutdown with commands in flight.

#include <sys/socket.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/resp/resp_fixture.h"
#include "server/resp/resp_metrics.h"
#include "tests/support/wait_for.h"

namespace kv::server::resp {
namespace {

using ::kv::server::resp::testing::RespFixture;
using ::kv::server::resp::testing::RespTestClient;
using ::kv::server::resp::testing::RespValue;
using ::kv::testing::WaitFor;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using RespServerTest = RespFixture;

TEST_F(RespServerTest, PipelineOf1000AnsweredInOrderWhileTheNodeAnswersBackwards) {
  std::string wire;
  for (int i = 0; i < 1000; ++i) wire += RespTestClient::Encode({"GET", absl::StrCat("park/", i)});
  ASSERT_TRUE(client().SendRaw(wire).ok());
  ASSERT_TRUE(node_.WaitForParked(1000));
  node_.ReleaseParkedReversed();
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<RespValue> v = client().Read();
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_EQ(v->str, absl::StrCat("park/", i));
  }
}

// A pipeline's reads are announced to the node (Node::PrefetchReads) before they run: the GET
// and MGET keys of the commands that arrived together, at most 64, and never a lone command's.
TEST_F(RespServerTest, PipelinedReadsAreAnnouncedToTheNodeFirst) {
  node_.Set("a", "1");
  node_.Set("b", "2");
  ASSERT_TRUE(client().SendRaw(RespTestClient::Encode({"GET", "a"})).ok());
  EXPECT_EQ(client().Read()->str, "1");
  EXPECT_TRUE(node_.prefetched().empty()) << "one command: nothing to overlap";
  const size_t calls_before = node_.events().size();

  std::string wire = RespTestClient::Encode({"GET", "a"}) + RespTestClient::Encode({"PING"}) +
                     RespTestClient::Encode({"mget", "b", "c"}) +
                     RespTestClient::Encode({"GET", "b"});
  for (int i = 0; i < 100; ++i) wire += RespTestClient::Encode({"GET", absl::StrCat("k", i)});
  ASSERT_TRUE(client().SendRaw(wire).ok());
  EXPECT_EQ(client().Read()->str, "1");
  EXPECT_EQ(client().Read()->str, "PONG");
  EXPECT_EQ(client().Read()->elements.size(), 2u);
  EXPECT_EQ(client().Read()->str, "2");
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(client().Read().ok());
  const std::vector<std::vector<std::string>> hints = node_.prefetched();
  ASSERT_FALSE(hints.empty());
  const std::vector<std::string>& first = hints.front();
  ASSERT_GE(first.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(first.begin(), first.begin() + 4),
            (std::vector<std::string>{"a", "b", "c", "b"}));
  for (const auto& hint : hints) EXPECT_LE(hint.size(), 64u);
  // The hint came before the reads it announced.
  const std::vector<std::string> events = node_.events();
  ASSERT_GT(events.size(), calls_before + 1);
  EXPECT_EQ(events[calls_before], "PrefetchReads");
}

TEST_F(RespServerTest, PipelinedWritesAndReadsKeepRedisOrder) {
  node_.set_async(true);
  std::string wire;
  for (int i = 0; i < 50; ++i) {
    wire += RespTestClient::Encode({"SET", "k", absl::StrCat(i)});
    wire += RespTestClient::Encode({"GET", "k"});
    wire += RespTestClient::Encode({"KV.LASTVERSION"});
  }
  ASSERT_TRUE(client().SendRaw(wire).ok());
  uint64_t last = 0;
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(client().Read()->ToString(), "OK");
    EXPECT_EQ(client().Read()->ToString(), absl::StrCat("\"", i, "\""));
    const RespValue version = *client().Read();
    EXPECT_GT(static_cast<uint64_t>(version.integer), last);
    last = version.integer;
  }
}

TEST_F(RespServerTest, CommandsInFlightAreBounded) {
  RespServerOptions options;
  options.max_commands_in_flight = 10;
  StartServer(options);
  std::string wire;
  for (int i = 0; i < 50; ++i) wire += RespTestClient::Encode({"GET", absl::StrCat("park/", i)});
  ASSERT_TRUE(client().SendRaw(wire).ok());
  ASSERT_TRUE(node_.WaitForParked(10));
  EXPECT_FALSE(node_.WaitForParked(11, absl::Milliseconds(200)));  // the rest wait unread
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(node_.WaitForParked(10)) << round;
    node_.ReleaseParked();
  }
  for (int i = 0; i < 50; ++i) ASSERT_EQ(client().Read()->str, absl::StrCat("park/", i));
}

TEST_F(RespServerTest, HugeLengthsAreRefusedAndTheConnectionClosed) {
  for (const char* hostile : {"*2147483647\r\n", "*2\r\n$3\r\nGET\r\n$999999999999\r\n",
                              "*1\r\n$-5\r\n", "*1\r\n:1\r\n"}) {
    RespTestClient c = Connect();
    ASSERT_TRUE(c.SendRaw(hostile).ok());
    absl::StatusOr<RespValue> v = c.Read();
    ASSERT_TRUE(v.ok()) << hostile << ": " << v.status();
    EXPECT_THAT(v->str, StartsWith("ERR Protocol error")) << hostile;
    EXPECT_TRUE(c.WaitClosed()) << hostile;
  }
  EXPECT_EQ(server_->stats().protocol_errors, 4u);
  EXPECT_EQ(Call({"PING"}), "PONG");
}

TEST_F(RespServerTest, RepliesBeforeAProtocolErrorAreWritten) {
  ASSERT_TRUE(client().SendRaw("PING\r\n*1\r\n$4\r\nECHO\r\n*x\r\nPING\r\n").ok());
  EXPECT_EQ(client().Read()->ToString(), "PONG");
  EXPECT_EQ(client().Read()->ToString(),
            "(error) ERR wrong number of arguments for 'echo' command");
  EXPECT_EQ(client().Read()->ToString(),
            "(error) ERR Protocol error: invalid multibulk length 'x'");
  EXPECT_TRUE(client().WaitClosed());
}

TEST_F(RespServerTest, HalfACommandThenDisconnect) {
  ASSERT_TRUE(client().SendRaw("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$10\r\nabc").ok());
  ASSERT_TRUE(WaitFor([&] { return server_->stats().connections_accepted == 1; }));
  client_.reset();  // closes the socket
  EXPECT_TRUE(WaitFor([&] { return server_->stats().connections_open == 0; }));
  EXPECT_EQ(node_.calls("Put"), 0);
}

TEST_F(RespServerTest, RepliesAreWrittenAfterTheClientStopsSending) {
  ASSERT_TRUE(client().SendRaw("PING\r\nGET park/a\r\n").ok());
  ASSERT_EQ(::shutdown(client().socket().fd(), SHUT_WR), 0);  // like `nc -q`
  ASSERT_TRUE(node_.WaitForParked(1));
  node_.ReleaseParked();
  EXPECT_EQ(client().Read()->ToString(), "PONG");
  EXPECT_EQ(client().Read()->ToString(), "\"park/a\"");
  EXPECT_TRUE(client().WaitClosed());
}

TEST_F(RespServerTest, QuitAnswersEarlierCommandsFirst) {
  ASSERT_TRUE(client().SendRaw("GET park/q\r\nQUIT\r\nPING\r\n").ok());
  ASSERT_TRUE(node_.WaitForParked(1));
  node_.ReleaseParked();
  EXPECT_EQ(client().Read()->ToString(), "\"park/q\"");
  EXPECT_EQ(client().Read()->ToString(), "OK");
  EXPECT_TRUE(client().WaitClosed());
}

TEST_F(RespServerTest, ConnectionsBeyondTheLimitAreRefused) {
  RespServerOptions options;
  options.max_connections = 3;
  StartServer(options);
  std::vector<RespTestClient> more;
  for (int i = 0; i < 2; ++i) {
    more.push_back(Connect());
    EXPECT_EQ(more.back().CallText({"PING"}), "PONG");
  }
  RespTestClient refused = Connect();
  absl::StatusOr<RespValue> v = refused.Read();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->ToString(), "(error) ERR max number of clients reached");
  EXPECT_TRUE(refused.WaitClosed());
  EXPECT_EQ(server_->stats().connections_refused, 1u);
  more.clear();
  EXPECT_TRUE(WaitFor([&] { return server_->stats().connections_open == 1; }));
  RespTestClient again = Connect();
  EXPECT_EQ(again.CallText({"PING"}), "PONG");
}

TEST_F(RespServerTest, IdleConnectionsAreClosedButNotWhileTheNodeWorks) {
  RespServerOptions options;
  options.idle_timeout = absl::Milliseconds(300);
  StartServer(options);
  RespTestClient waiting = Connect();
  ASSERT_TRUE(waiting.Send({"GET", "park/slow"}).ok());
  ASSERT_TRUE(node_.WaitForParked(1));
  const absl::Time start = absl::Now();
  EXPECT_TRUE(client().WaitClosed(absl::Seconds(5)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  EXPECT_GE(server_->stats().idle_closes, 1u);
  absl::SleepFor(absl::Milliseconds(400));  // past the timeout: the parked command keeps it
  node_.ReleaseParked();
  EXPECT_EQ(waiting.Read()->str, "park/slow");
}

TEST_F(RespServerTest, AClientThatDoesNotReadIsClosedAtTheOutputBound) {
  RespServerOptions options;
  options.limits.max_value_bytes = 64 * 1024;
  options.parser = ParserLimitsFor(options.limits);
  options.max_output_bytes = 1 << 20;
  StartServer(options);
  node_.Set("big", std::string(60 * 1024, 'x'));
  RespTestClient greedy = Connect(/*receive_buffer=*/4096);
  std::string wire;
  for (int i = 0; i < 2000; ++i) wire += RespTestClient::Encode({"GET", "big"});
  ASSERT_TRUE(greedy.SendRaw(wire).ok());
  EXPECT_TRUE(WaitFor([&] { return server_->stats().output_limit_closes == 1; }));
  EXPECT_TRUE(greedy.WaitClosed());
  EXPECT_EQ(Call({"PING"}), "PONG");  // the others are served
}

TEST_F(RespServerTest, ManyClientsAtOnce) {
  node_.set_async(true);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      absl::StatusOr<RespTestClient> c = RespTestClient::Connect(server_->port());
      if (!c.ok()) {
        ++failures;
        return;
      }
      for (int i = 0; i < 100; ++i) {
        const std::string key = absl::StrCat("t", t, "/", i % 10);
        const std::string value = absl::StrCat(i);
        if (c->CallText({"SET", key, value}) != "OK") ++failures;
        if (c->CallText({"GET", key}) != absl::StrCat("\"", value, "\"")) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(server_->stats().commands, 1600u);
}

TEST_F(RespServerTest, StopWithCommandsInFlight) {
  ASSERT_TRUE(client().Send({"GET", "park/x"}).ok());
  ASSERT_TRUE(node_.WaitForParked(1));
  const absl::Time start = absl::Now();
  server_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  node_.ReleaseParked();  // the answer has nowhere to go: dropped
  EXPECT_TRUE(client().WaitClosed());
}

TEST_F(RespServerTest, StatsAreExported) {
  EXPECT_EQ(Call({"PING"}), "PONG");
  MetricSink sink;
  ExportRespServerStats(server_->stats(), sink);
  std::vector<std::string> names;
  for (const auto& family : sink.families()) names.push_back(family.name);
  EXPECT_THAT(names, ::testing::Contains("kv_resp_connections_open"));
  EXPECT_THAT(names, ::testing::Contains("kv_resp_commands_total"));
}

TEST(RespServerOptionsTest, BadOptionsAreRefused) {
  testing::FakeNode node;
  RespServerOptions options;
  options.listen = "127.0.0.1:0";
  options.max_output_bytes = 1000;
  RespServer small(&node, options);
  EXPECT_THAT(small.Start().message(), HasSubstr("max_output_bytes"));
  options = RespServerOptions();
  options.listen = "nonsense";
  RespServer bad(&node, options);
  EXPECT_EQ(bad.Start().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kv::server::resp

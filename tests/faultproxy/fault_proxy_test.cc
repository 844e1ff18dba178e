#include "tests/faultproxy/fault_proxy.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/faultproxy/test_util.h"

namespace kv::testing {
namespace {

constexpr Direction kC2S = Direction::kClientToServer;
constexpr Direction kS2C = Direction::kServerToClient;

// Timing bounds are one-sided where the proxy guarantees a side (a delay is never shorter than
// set) and generous on the other, for a loaded 2-core machine.
constexpr absl::Duration kSlack = absl::Milliseconds(250);

// Polls `pred` until it holds or 3 s pass.
bool Eventually(const std::function<bool()>& pred) {
  const absl::Time deadline = absl::Now() + absl::Seconds(3);
  while (absl::Now() < deadline) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return pred();
}

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(echo_.Start().ok());
    FaultProxyOptions options;
    options.target_address = echo_.address();
    proxy_ = std::make_unique<FaultProxy>(options);
    ASSERT_TRUE(proxy_->Start().ok());
    ASSERT_NE(proxy_->port(), 0);
  }

  std::unique_ptr<TestClient> Connect() {
    auto c = TestClient::Connect(proxy_->port());
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // Sends `msg` and waits for its echo; returns the round trip, or an infinite duration.
  absl::Duration RoundTrip(TestClient& c, absl::string_view msg = "ping") {
    const absl::Time start = absl::Now();
    EXPECT_TRUE(c.SendAll(msg).ok());
    auto got = c.ReadExactly(msg.size(), absl::Seconds(5));
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) return absl::InfiniteDuration();
    EXPECT_EQ(*got, msg);
    return absl::Now() - start;
  }

  // Sends `data` from a second thread while reading the echo; returns the elapsed time.
  absl::Duration Transfer(TestClient& c, const std::string& data, absl::Duration timeout) {
    const absl::Time start = absl::Now();
    std::thread sender([&] { EXPECT_TRUE(c.SendAll(data).ok()); });
    auto got = c.ReadExactly(data.size(), timeout);
    absl::Duration elapsed = absl::Now() - start;
    sender.join();
    EXPECT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(got.ok() && *got == data) << "echoed bytes differ";
    return elapsed;
  }

  EchoServer echo_;
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(FaultProxyTest, PassesLargeDataIntactAndCountsIt) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  const std::string data = TestPattern(8 << 20, 7);
  Transfer(*c, data, absl::Seconds(8));
  EXPECT_TRUE(Eventually([&] {
    FaultProxyStats s = proxy_->stats();
    return s.forwarded(kC2S) == data.size() && s.forwarded(kS2C) == data.size();
  })) << proxy_->stats().ToString();
  FaultProxyStats s = proxy_->stats();
  EXPECT_EQ(s.connections_accepted, 1u);
  EXPECT_EQ(s.connections_active, 1u);
  EXPECT_EQ(s.queued(kC2S), 0u);
}

TEST_F(FaultProxyTest, ConcurrentConnectionsStaySeparate) {
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(Connect());
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    ASSERT_NE(clients[i], nullptr);
    threads.emplace_back(
        [&, i] { Transfer(*clients[i], TestPattern(1 << 20, 100 + i), absl::Seconds(8)); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(proxy_->stats().connections_active, 4u);
}

TEST_F(FaultProxyTest, DelayAddsOneWayLatencyPerDirection) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  EXPECT_LT(RoundTrip(*c), absl::Milliseconds(100));  // an existing connection...

  const absl::Duration d = absl::Milliseconds(100);
  for (Direction dir : kBothDirections) {
    proxy_->ClearFaults();
    proxy_->SetDelay(dir, d);  // ...is delayed from now on
    for (int i = 0; i < 3; ++i) {
      absl::Duration rtt = RoundTrip(*c, absl::StrCat("ping", i));
      EXPECT_GE(rtt, d) << DirectionName(dir);
      EXPECT_LT(rtt, d + kSlack) << DirectionName(dir);
    }
  }
  proxy_->ClearFaults();
  EXPECT_LT(RoundTrip(*c), absl::Milliseconds(100));
}

TEST_F(FaultProxyTest, DelayDoesNotCapThroughput) {
  proxy_->SetDelay(kC2S, absl::Milliseconds(100));
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  // 64 chunks of 64 KiB: released one per delay this would take 6 s; pipelined it is ~0.1 s.
  absl::Duration elapsed = Transfer(*c, TestPattern(4 << 20, 3), absl::Seconds(8));
  EXPECT_GE(elapsed, absl::Milliseconds(100));
  EXPECT_LT(elapsed, absl::Milliseconds(1500));
}

TEST_F(FaultProxyTest, JitterVariesDelayButKeepsOrder) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  // Lone pings: each round trip is 30 ms +/- 20 ms, so they must spread.
  proxy_->SetDelay(kC2S, absl::Milliseconds(30), absl::Milliseconds(20));
  absl::Duration lo = absl::InfiniteDuration(), hi = absl::ZeroDuration();
  for (int i = 0; i < 10; ++i) {
    absl::Duration rtt = RoundTrip(*c);
    lo = std::min(lo, rtt);
    hi = std::max(hi, rtt);
  }
  EXPECT_GE(lo, absl::Milliseconds(10));
  EXPECT_LT(hi, absl::Milliseconds(50) + kSlack);
  EXPECT_GE(hi - lo, absl::Milliseconds(8)) << "jitter had no effect";

  // A stream of small separate writes: jitter must never reorder them.
  proxy_->SetDelay(kS2C, absl::Milliseconds(10), absl::Milliseconds(10));
  std::string sent;
  for (int i = 0; i < 100; ++i) {
    std::string msg = absl::StrCat("<", i, ">");
    ASSERT_TRUE(c->SendAll(msg).ok());
    sent += msg;
    absl::SleepFor(absl::Milliseconds(1));
  }
  auto got = c->ReadExactly(sent.size(), absl::Seconds(5));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, sent);
}

TEST_F(FaultProxyTest, LoweringDelayReleasesWaitingBytes) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  proxy_->SetDelay(kC2S, absl::Seconds(30));
  ASSERT_TRUE(c->SendAll("held").ok());
  auto early = c->ReadFor(absl::Milliseconds(200));
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(*early, "");
  proxy_->SetDelay(kC2S, absl::ZeroDuration());
  auto got = c->ReadExactly(4, absl::Seconds(2));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "held");
}

TEST_F(FaultProxyTest, BandwidthCapIsRoughlyRespected) {
  constexpr uint64_t kRate = 256 * 1024;
  const std::string data = TestPattern(128 * 1024, 11);  // 0.5 s at kRate
  for (Direction dir : kBothDirections) {
    proxy_->ClearFaults();
    proxy_->SetBandwidth(dir, kRate);
    auto c = Connect();
    ASSERT_NE(c, nullptr);
    absl::Duration elapsed = Transfer(*c, data, absl::Seconds(8));
    EXPECT_GE(elapsed, absl::Milliseconds(400)) << DirectionName(dir);
    EXPECT_LT(elapsed, absl::Milliseconds(500) + 4 * kSlack) << DirectionName(dir);
  }
  proxy_->ClearFaults();
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  EXPECT_LT(Transfer(*c, data, absl::Seconds(8)), absl::Milliseconds(300));
}

TEST_F(FaultProxyTest, BandwidthCapIsSharedByConnections) {
  proxy_->SetBandwidth(kC2S, 128 * 1024);
  auto a = Connect();
  auto b = Connect();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const absl::Time start = absl::Now();
  std::thread ta([&] { Transfer(*a, TestPattern(64 * 1024, 1), absl::Seconds(8)); });
  std::thread tb([&] { Transfer(*b, TestPattern(64 * 1024, 2), absl::Seconds(8)); });
  ta.join();
  tb.join();
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_GE(elapsed, absl::Milliseconds(800));  // 128 KiB at 128 KiB/s
  EXPECT_LT(elapsed, absl::Seconds(1) + 4 * kSlack);
}

TEST_F(FaultProxyTest, PauseHoldsBytesAndResumeDeliversThemInOrder) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_LT(RoundTrip(*c), absl::Seconds(1));
  proxy_->Pause();
  std::string sent;
  for (int i = 0; i < 20; ++i) {
    std::string msg = absl::StrCat("[", i, "]", TestPattern(1000, i));
    ASSERT_TRUE(c->SendAll(msg).ok());
    sent += msg;
  }
  auto early = c->ReadFor(absl::Milliseconds(300));
  ASSERT_TRUE(early.ok()) << early.status();  // connection still open
  EXPECT_EQ(early->size(), 0u);
  EXPECT_EQ(proxy_->stats().queued(kC2S), sent.size());
  proxy_->Resume();
  auto got = c->ReadExactly(sent.size(), absl::Seconds(5));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, sent);
}

TEST_F(FaultProxyTest, PauseOneDirection) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  proxy_->Pause(kS2C);
  ASSERT_TRUE(c->SendAll("one-way").ok());
  // The request reaches the server; the answer is held.
  EXPECT_TRUE(Eventually([&] { return proxy_->stats().queued(kS2C) == 7; }))
      << proxy_->stats().ToString();
  EXPECT_EQ(proxy_->stats().forwarded(kC2S), 7u);
  auto early = c->ReadFor(absl::Milliseconds(100));
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(*early, "");
  proxy_->Resume(kS2C);
  auto got = c->ReadExactly(7, absl::Seconds(2));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "one-way");
}

TEST_F(FaultProxyTest, CutAllResetsCurrentConnectionsOnly) {
  auto a = Connect();
  auto b = Connect();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_LT(RoundTrip(*a), absl::Seconds(1));
  ASSERT_LT(RoundTrip(*b), absl::Seconds(1));
  EXPECT_EQ(proxy_->CutAll(), 2);
  EXPECT_EQ(a->WaitForEnd(absl::Seconds(2)), TestClient::End::kReset);
  EXPECT_EQ(b->WaitForEnd(absl::Seconds(2)), TestClient::End::kReset);
  FaultProxyStats s = proxy_->stats();
  EXPECT_EQ(s.connections_active, 0u);
  EXPECT_EQ(s.connections_cut, 2u);
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  EXPECT_LT(RoundTrip(*c), absl::Seconds(1));
}

TEST_F(FaultProxyTest, CutAllWhilePausedDropsHeldBytes) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  proxy_->Pause();
  ASSERT_TRUE(c->SendAll("lost").ok());
  ASSERT_TRUE(Eventually([&] { return proxy_->stats().queued(kC2S) == 4; }));
  EXPECT_EQ(proxy_->CutAll(), 1);
  EXPECT_EQ(c->WaitForEnd(absl::Seconds(2)), TestClient::End::kReset);
  EXPECT_EQ(proxy_->stats().queued(kC2S), 0u);
}

TEST_F(FaultProxyTest, RefuseNewRefusesThenAllowsAgain) {
  auto existing = Connect();
  ASSERT_NE(existing, nullptr);
  ASSERT_LT(RoundTrip(*existing), absl::Seconds(1));

  proxy_->RefuseNew(true);
  auto refused = TestClient::Connect(proxy_->port());
  if (refused.ok()) {  // accepted by the kernel, then reset by the proxy
    EXPECT_NE((*refused)->WaitForEnd(absl::Seconds(2)), TestClient::End::kStillOpen);
  }
  EXPECT_LT(RoundTrip(*existing), absl::Seconds(1));  // unaffected
  EXPECT_TRUE(Eventually([&] { return proxy_->stats().connections_refused == 1; }));

  proxy_->RefuseNew(false);
  auto later = Connect();
  ASSERT_NE(later, nullptr);
  EXPECT_LT(RoundTrip(*later), absl::Seconds(1));
  EXPECT_EQ(echo_.connections_accepted(), 2);  // the refused one never reached the server
}

TEST_F(FaultProxyTest, HalfCloseIsPassedOn) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->SendAll("last words").ok());
  c->ShutdownWrite();
  auto got = c->ReadExactly(10, absl::Seconds(2));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "last words");
  EXPECT_EQ(c->WaitForEnd(absl::Seconds(2)), TestClient::End::kEof);
  EXPECT_TRUE(Eventually([&] { return proxy_->stats().connections_active == 0; }));
}

TEST_F(FaultProxyTest, StopClosesConnections) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  proxy_->Pause();
  ASSERT_TRUE(c->SendAll("x").ok());
  proxy_->Stop();
  EXPECT_NE(c->WaitForEnd(absl::Seconds(2)), TestClient::End::kStillOpen);
  proxy_->Stop();  // idempotent
  EXPECT_EQ(proxy_->CutAll(), 0);
}

TEST(FaultProxyStandaloneTest, UnreachableTargetClosesTheClient) {
  // A port that was free a moment ago: nothing listens there.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t dead_port = probe.local_endpoint().port();
  probe.close();

  FaultProxy proxy(ProxyTo(absl::StrCat("127.0.0.1:", dead_port)));
  ASSERT_TRUE(proxy.Start().ok());
  auto c = TestClient::Connect(proxy.port());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NE((*c)->WaitForEnd(absl::Seconds(2)), TestClient::End::kStillOpen);
  EXPECT_TRUE(Eventually([&] { return proxy.stats().connect_failures == 1; }));
}

TEST(FaultProxyStandaloneTest, BadAddressesFailStart) {
  EXPECT_FALSE(FaultProxy(ProxyTo("nonsense")).Start().ok());
  EXPECT_FALSE(FaultProxy(ProxyTo("127.0.0.1:1", "127.0.0.1:x")).Start().ok());
  EXPECT_FALSE(FaultProxy(ProxyTo("127.0.0.1:0")).Start().ok());
}

}  // namespace
}  // namespace kv::testing

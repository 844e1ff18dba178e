// KV.Watch with real processes: a central node, a full edge and a cache edge. Changes made at
// the central node reach watchers at every node in version order; a watch resumes after a
// disconnect; a start older than the node retains is OUT_OF_RANGE naming the oldest version; the
// per-node watcher limit; kvctl watch and the HTTP gateway's Server-Sent Events.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "kv/client.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/raw_kv.h"
#include "tests/support/watch_reader.h"

namespace kv::testing {
namespace {

using kvstore::v1::WatchEvent;
using kvstore::v1::WatchRequest;

WatchRequest Prefix(const std::string& prefix, uint64_t start = 0) {
  WatchRequest r;
  r.set_prefix(prefix);
  r.set_start_version(start);
  r.set_progress_interval_millis(100);
  return r;
}

// A raw HTTP/1.1 client that sends one request and keeps reading, as `curl -N` does.
class RawHttpStream {
 public:
  RawHttpStream(const std::string& address, const std::string& target) {
    const size_t colon = address.rfind(':');
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
    inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      ADD_FAILURE() << "cannot connect to " << address;
      return;
    }
    const std::string request = absl::StrCat(
        "GET ", target, " HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n");
    EXPECT_EQ(send(fd_, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  }
  ~RawHttpStream() {
    if (fd_ >= 0) close(fd_);
  }
  // Reads until `needle` has arrived (true), the peer closes, or `timeout`.
  bool ReadUntil(const std::string& needle, absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time give_up = absl::Now() + timeout;
    while (received_.find(needle) == std::string::npos) {
      const int64_t left = absl::ToInt64Milliseconds(give_up - absl::Now());
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return received_.find(needle) != std::string::npos;
      received_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  std::string received_;
};

class WatchTest : public ClusterFixture {
 protected:
  // Central, a full edge and a cache edge, both following the central node, both ready.
  void StartThree(std::vector<std::string> edge_flags = {}) {
    central = StartCentral({"--http", "127.0.0.1:0"});
    full = StartEdge("full", central->address(), "full", edge_flags);
    cache = StartEdge("cache", central->address(), "cache", edge_flags);
    ASSERT_TRUE(WaitReady(full));
    ASSERT_TRUE(WaitReady(cache));
  }

  KvdProcess* central = nullptr;
  KvdProcess* full = nullptr;
  KvdProcess* cache = nullptr;
};

TEST_F(WatchTest, EveryNodeSendsThePutsAndDeletesMadeAtTheCentralNodeInVersionOrder) {
  StartThree();
  std::vector<std::unique_ptr<WatchReader>> readers;
  for (KvdProcess* node : {central, full, cache}) {
    readers.push_back(std::make_unique<WatchReader>(node->address(), Prefix("w/")));
    ASSERT_TRUE(readers.back()->WaitStarted()) << node->name();
  }
  RawKv kv(central->address());
  kvstore::v1::PutResponse a, b;
  kvstore::v1::DeleteResponse d;
  ASSERT_TRUE(kv.Put("w/a", "1", &a).ok());
  ASSERT_TRUE(kv.Put("other", "x").ok());
  ASSERT_TRUE(kv.Put("w/b", std::string(100 << 10, 'b'), &b).ok());  // above --push-value-limit
  ASSERT_TRUE(kv.Delete("w/a", &d).ok());
  for (size_t i = 0; i < readers.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(readers[i]->WaitForEvents(3));
    auto events = readers[i]->events();
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].key(), "w/a");
    EXPECT_EQ(events[0].value(), "1");
    EXPECT_EQ(events[0].version(), a.version());
    EXPECT_EQ(events[1].key(), "w/b");
    EXPECT_TRUE(events[1].value_omitted());
    EXPECT_EQ(events[1].value_size(), 100u << 10);
    EXPECT_EQ(events[1].version(), b.version());
    EXPECT_EQ(events[2].type(), WatchEvent::TYPE_DELETE);
    EXPECT_EQ(events[2].version(), d.version());
    // Then progress: the watcher learns how far its view reaches.
    ASSERT_TRUE(readers[i]->WaitApplied(d.version()));
  }
  // The cache edge never cached w/a, and still saw it.
  auto status = cache->Status();
  ASSERT_TRUE(status.ok());
}

TEST_F(WatchTest, AWatchResumesAfterADisconnectWithoutGapsOrRepeats) {
  StartThree();
  RawKv kv(central->address());
  for (KvdProcess* node : {full, cache}) {
    SCOPED_TRACE(node->name());
    const std::string prefix = node->name() + "/";
    auto first = std::make_unique<WatchReader>(node->address(), Prefix(prefix));
    ASSERT_TRUE(first->WaitStarted());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(kv.Put(absl::StrCat(prefix, i), "v").ok());
    ASSERT_TRUE(first->WaitForEvents(3));
    ASSERT_TRUE(first->WaitApplied(first->events().back().version()));
    const uint64_t resume = first->applied_version() + 1;
    first->Cancel();
    first.reset();
    // Written while nobody watches.
    for (int i = 3; i < 6; ++i) ASSERT_TRUE(kv.Put(absl::StrCat(prefix, i), "v").ok());
    WatchReader again(node->address(), Prefix(prefix, resume));
    ASSERT_TRUE(again.WaitForEvents(3));
    auto events = again.events();
    ASSERT_EQ(events.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(events[i].key(), absl::StrCat(prefix, i + 3));
  }
}

TEST_F(WatchTest, AStartOlderThanTheLogIsOutOfRangeNamingTheOldestVersion) {
  central = StartCentral({"--log-retention-entries", "5", "--log-retention-interval", "100ms"});
  RawKv kv(central->address());
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(kv.Put(absl::StrCat("k", i % 3), "v").ok());
  // The hub's ring still holds them all: only the log was trimmed. A restart leaves the log.
  ASSERT_EQ(central->Stop(), 0);
  ASSERT_TRUE(central->Start().ok());
  ASSERT_TRUE(WaitFor([&] {
    auto s = central->Status();
    return s.ok() && s->oldest_log_version() > 1;
  }));
  WatchReader old(central->address(), Prefix("", 1));
  grpc::Status s = old.WaitEnd();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE) << s.error_message();
  uint64_t oldest = 0;
  ASSERT_TRUE(absl::SimpleAtoi(old.Trailer("kv-oldest-version"), &oldest)) << s.error_message();
  EXPECT_GT(oldest, 1u);
  EXPECT_NE(s.error_message().find(absl::StrCat(oldest)), std::string::npos);
  // From the oldest it names, the watch is served from the log.
  WatchReader from_oldest(central->address(), Prefix("", oldest));
  ASSERT_TRUE(from_oldest.WaitForEvents(static_cast<int>(30 - oldest + 1)));
  EXPECT_EQ(from_oldest.events().front().version(), oldest);
  EXPECT_EQ(from_oldest.events().back().version(), 30u);
}

TEST_F(WatchTest, ThePerNodeWatcherLimitRefusesWithAClearError) {
  central = StartCentral({"--max-watchers", "2", "--http", "127.0.0.1:0"});
  WatchReader a(central->address(), Prefix("")), b(central->address(), Prefix(""));
  ASSERT_TRUE(a.WaitStarted());
  ASSERT_TRUE(b.WaitStarted());
  WatchReader c(central->address(), Prefix(""));
  grpc::Status s = c.WaitEnd();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("--max-watchers 2"), std::string::npos) << s.error_message();
  RawHttpStream metrics(central->http_address(), "/metrics");
  ASSERT_TRUE(metrics.ReadUntil("kv_watchers_refused_total 1")) << metrics.received();
  EXPECT_NE(metrics.received().find("\nkv_watchers 2\n"), std::string::npos) << metrics.received();
}

TEST_F(WatchTest, AWatcherThatStopsReadingIsEndedWithTheVersionToResumeFrom) {
  central = StartCentral({"--watch-max-lag", "200"});
  // A watcher that never reads: the node's writes to it stall once the transport's windows fill.
  auto stub = kvstore::v1::KV::NewStub(
      grpc::CreateChannel(central->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext stalled_context;
  stalled_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  auto stalled = stub->Watch(&stalled_context, Prefix("s/"));
  WatchReader healthy(central->address(), Prefix("s/"));
  ASSERT_TRUE(healthy.WaitStarted());
  RawKv kv(central->address());
  constexpr int kWrites = 3000;
  const std::string value(4096, 'v');
  for (int i = 0; i < kWrites; ++i) ASSERT_TRUE(kv.Put(absl::StrCat("s/", i % 50), value).ok());
  // The healthy watcher got everything.
  ASSERT_TRUE(healthy.WaitForEvents(kWrites, absl::Seconds(60)));
  // The stalled one reads what was buffered, then learns it was ended and where to resume.
  kvstore::v1::WatchResponse response;
  uint64_t last = 0;
  int events = 0;
  while (stalled->Read(&response)) {
    last = response.applied_version();
    events += response.events_size();
  }
  grpc::Status s = stalled->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("--watch-max-lag"), std::string::npos) << s.error_message();
  const auto& trailers = stalled_context.GetServerTrailingMetadata();
  auto it = trailers.find("kv-resume-version");
  ASSERT_NE(it, trailers.end());
  uint64_t resume = 0;
  ASSERT_TRUE(absl::SimpleAtoi(std::string(it->second.data(), it->second.size()), &resume));
  EXPECT_EQ(resume, last + 1) << "the resume version follows what it received";
  EXPECT_LT(events, kWrites);
}

TEST_F(WatchTest, TheHttpGatewayStreamsServerSentEventsAtEveryNode) {
  StartThree({"--http", "127.0.0.1:0"});
  RawKv kv(central->address());
  kvstore::v1::PutResponse first;
  ASSERT_TRUE(kv.Put("sse/seed", "0", &first).ok());
  std::vector<std::unique_ptr<RawHttpStream>> streams;
  for (KvdProcess* node : {central, full, cache}) {
    ASSERT_TRUE(WaitApplied(node, first.version()));
    streams.push_back(std::make_unique<RawHttpStream>(
        node->http_address(), absl::StrCat("/v1/watch?prefix=sse%2F&progress_ms=100&from_version=",
                                           first.version() + 1)));
    ASSERT_TRUE(streams.back()->ReadUntil("event: progress")) << streams.back()->received();
  }
  kvstore::v1::PutResponse put;
  kvstore::v1::DeleteResponse del;
  ASSERT_TRUE(kv.Put("sse/a", "hello", &put).ok());
  ASSERT_TRUE(kv.Delete("sse/a", &del).ok());
  for (auto& stream : streams) {
    ASSERT_TRUE(stream->ReadUntil(absl::StrCat("id: ", del.version(), "\n"))) << stream->received();
    const std::string& text = stream->received();
    EXPECT_NE(text.find("HTTP/1.1 200"), std::string::npos) << text;
    EXPECT_NE(text.find("Content-Type: text/event-stream"), std::string::npos) << text;
    EXPECT_EQ(text.find("Content-Length"), std::string::npos) << text;
    EXPECT_NE(
        text.find(absl::StrCat("data: {\"key\":\"sse/a\",\"type\":\"put\",\"value\":\"hello\",",
                               "\"value_size\":5,\"version\":", put.version(), "}")),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("event: delete\n"), std::string::npos) << text;
    EXPECT_LT(text.find("event: put"), text.find("event: delete")) << text;
  }
  // A refused start is an ordinary HTTP answer.
  RawHttpStream bad(central->http_address(), "/v1/watch?prefix=a&key=x");
  ASSERT_TRUE(bad.ReadUntil("\r\n\r\n"));
  EXPECT_NE(bad.received().find("HTTP/1.1 400"), std::string::npos) << bad.received();
}

// Collects what a client-library watch delivers.
struct Collected {
  absl::Mutex mu;
  std::vector<client::WatchUpdate> updates ABSL_GUARDED_BY(mu);

  auto Callback() {
    return [this](const client::WatchUpdate& u) {
      absl::MutexLock l(&mu);
      updates.push_back(u);
    };
  }
  std::vector<client::WatchEvent> Events(bool resync) {
    absl::MutexLock l(&mu);
    std::vector<client::WatchEvent> out;
    for (const auto& u : updates) {
      if (u.resync == resync) out.insert(out.end(), u.events.begin(), u.events.end());
    }
    return out;
  }
  bool WaitEvents(size_t n, bool resync = false) {
    return WaitFor([&] { return Events(resync).size() >= n; }, absl::Seconds(30));
  }
};

std::unique_ptr<client::Client> ClientOf(const std::string& address) {
  client::ClientOptions options;
  options.write_endpoint = address;
  options.read_endpoints = {address};
  options.retry.max_backoff = absl::Milliseconds(200);
  auto c = client::Client::Create(options);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

TEST_F(WatchTest, TheClientLibraryResumesAcrossANodeRestartWithoutGapsOrRepeats) {
  central = StartCentral();
  full = StartEdge("full", central->address());
  ASSERT_TRUE(WaitReady(full));
  RawKv kv(central->address());
  kvstore::v1::PutResponse seed;
  ASSERT_TRUE(kv.Put("seed", "0", &seed).ok());
  ASSERT_TRUE(WaitApplied(full, seed.version()));
  auto c = ClientOf(full->address());
  Collected got;
  client::WatchOptions options;
  options.prefix = "c/";
  options.start_version = seed.version() + 1;
  auto watch = c->StartWatch(options, got.Callback());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(kv.Put(absl::StrCat("c/", i), "v").ok());
  ASSERT_TRUE(got.WaitEvents(3));
  ASSERT_EQ(full->Stop(), 0);
  for (int i = 3; i < 6; ++i) ASSERT_TRUE(kv.Put(absl::StrCat("c/", i), "v").ok());
  ASSERT_TRUE(full->Start().ok());
  ASSERT_TRUE(got.WaitEvents(6));
  auto events = got.Events(false);
  ASSERT_EQ(events.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(events[i].key, absl::StrCat("c/", i));
    if (i > 0) EXPECT_GT(events[i].version, events[i - 1].version);
  }
  watch->Cancel();
  EXPECT_TRUE(absl::IsCancelled(watch->Wait()));
}

TEST_F(WatchTest, TheClientLibraryResyncsWhenTheNodeNoLongerHoldsItsVersion) {
  central = StartCentral({"--log-retention-entries", "5", "--log-retention-interval", "100ms"});
  RawKv kv(central->address());
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(kv.Put(absl::StrCat("r/", i % 10), absl::StrCat(i)).ok());
  ASSERT_EQ(central->Stop(), 0);  // the restarted hub serves only what the trimmed log holds
  ASSERT_TRUE(central->Start().ok());
  ASSERT_TRUE(WaitFor([&] {
    auto s = central->Status();
    return s.ok() && s->oldest_log_version() > 1;
  }));
  auto c = ClientOf(central->address());
  Collected got;
  client::WatchOptions options;
  options.prefix = "r/";
  options.start_version = 1;
  auto watch = c->StartWatch(options, got.Callback());
  ASSERT_TRUE(got.WaitEvents(10, /*resync=*/true));
  auto current = got.Events(true);
  ASSERT_EQ(current.size(), 10u);
  EXPECT_EQ(current[0].key, "r/0");
  EXPECT_EQ(current[0].value, "20");
  kvstore::v1::PutResponse after;
  ASSERT_TRUE(kv.Put("r/new", "x", &after).ok());
  ASSERT_TRUE(got.WaitEvents(1));
  EXPECT_EQ(got.Events(false).back().version, after.version());
}

TEST_F(WatchTest, ANodeShuttingDownEndsItsWatchersWithTheVersionToResumeFrom) {
  central = StartCentral({"--http", "127.0.0.1:0"});
  RawKv kv(central->address());
  kvstore::v1::PutResponse put;
  ASSERT_TRUE(kv.Put("s/1", "v", &put).ok());
  WatchReader grpc_watch(central->address(), Prefix("s/", put.version()));
  RawHttpStream sse(central->http_address(),
                    absl::StrCat("/v1/watch?prefix=s%2F&from_version=", put.version()));
  ASSERT_TRUE(grpc_watch.WaitForEvents(1));
  ASSERT_TRUE(sse.ReadUntil("event: put"));
  const absl::Time t0 = absl::Now();
  EXPECT_EQ(central->Stop(), 0) << "shutdown with open watches must be clean";
  EXPECT_LT(absl::Now() - t0, absl::Seconds(10));
  grpc::Status s = grpc_watch.WaitEnd();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(grpc_watch.Trailer("kv-resume-version"), absl::StrCat(put.version() + 1));
  EXPECT_TRUE(sse.ReadUntil("event: error")) << sse.received();
  EXPECT_NE(sse.received().find(absl::StrCat("\"resume_version\":", put.version() + 1)),
            std::string::npos)
      << sse.received();
}

TEST_F(WatchTest, ABadRequestIsInvalidArgument) {
  central = StartCentral();
  WatchRequest both = Prefix("a");
  both.add_keys("b");
  WatchReader r(central->address(), both);
  EXPECT_EQ(r.WaitEnd().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace kv::testing

// The server's resource limits over real sockets: max_connections, running out of descriptors
// (EMFILE), write_timeout for clients that stop reading, and the budget of answer bodies held
// for writing (max_pending_response_bytes), with shared bodies counted once. The write and
// budget limits are tested over plain HTTP and TLS.

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_server.h"
#include "server/http/http_test_client.h"
#include "server/http/http_test_transport.h"
#include "server/http/raw_test_socket.h"
#include "tests/support/wait_for.h"

namespace kv::server {
namespace {

using ::kv::server::testing::AllTransports;
using ::kv::server::testing::Header;
using ::kv::server::testing::RawSocket;
using ::kv::server::testing::TestHttpClient;
using ::kv::server::testing::TransportName;
using ::kv::server::testing::TransportTest;
using ::kv::testing::WaitFor;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr size_t kMiB = 1 << 20;
// The smallest receive buffer Linux grants: a client that does not read takes little.
constexpr int kTinyReceiveBuffer = 4096;
constexpr absl::string_view kGetBig = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";

HttpServerOptions LocalOptions() {
  HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  return options;
}

void Text(Responder& r, int status, absl::string_view text) {
  r.response().SetText(status, text);
  r.Send();
}

// The limits on answers being written, over plain HTTP and TLS.
class HttpWriteLimitsTest : public TransportTest {
 protected:
  // A client that sends `request` and never reads.
  std::unique_ptr<TestHttpClient> StalledClient(int port, absl::string_view request) {
    auto client =
        std::make_unique<TestHttpClient>(port, absl::Seconds(10), ClientTls(), kTinyReceiveBuffer);
    EXPECT_TRUE(client->Connect().ok());
    EXPECT_TRUE(client->SendRaw(request).ok());
    return client;
  }
};
INSTANTIATE_TEST_SUITE_P(Transports, HttpWriteLimitsTest, AllTransports(), TransportName);

TEST(HttpLimitsTest, ConnectionsBeyondMaxAreAnswered503AndClosed) {
  HttpServerOptions options = LocalOptions();
  options.max_connections = 2;
  HttpServer server(options);
  server.Route("/x", [](const HttpRequest&, Responder r) { Text(r, 200, "x"); });
  ASSERT_TRUE(server.Start().ok());

  std::vector<std::unique_ptr<TestHttpClient>> clients;
  for (int i = 0; i < 2; ++i) {
    clients.push_back(std::make_unique<TestHttpClient>(server.port()));
    ASSERT_TRUE(clients.back()->Connect().ok());
    ASSERT_TRUE(clients.back()->Get("/x").ok());  // admitted and served
  }
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<RawSocket> extra = RawSocket::Connect(server.port());
    ASSERT_TRUE(extra.ok());
    ASSERT_TRUE(extra->SendAll("GET /x HTTP/1.1\r\nHost: x\r\n\r\n").ok());
    bool closed = false;
    const std::string answer = extra->ReadUntilClosed(absl::Seconds(5), &closed);
    EXPECT_TRUE(closed);
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
    EXPECT_THAT(answer, HasSubstr("Connection: close\r\n"));
    EXPECT_THAT(answer, HasSubstr("\r\n\r\ntoo many connections\n"));
  }
  EXPECT_EQ(server.stats().connections_refused, 3u);
  EXPECT_EQ(server.stats().connections_accepted, 2u);
  for (auto& c : clients) EXPECT_TRUE(c->Get("/x").ok());  // the admitted ones are unharmed

  // A slot freed is a slot for the next client.
  clients[0]->Close();
  ASSERT_TRUE(WaitFor([&] { return server.connections_open() == 1; }));
  TestHttpClient next(server.port());
  ASSERT_TRUE(next.Connect().ok());
  auto r = next.Get("/x");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->result_int(), 200);
}

// The highest descriptor number open in this process.
int HighestOpenDescriptor() {
  int highest = 2;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = 0;
    if (absl::SimpleAtoi(entry.path().filename().string(), &fd)) highest = std::max(highest, fd);
  }
  return highest;
}

// Lowers RLIMIT_NOFILE for the scope and fills every free descriptor below it, so the next
// descriptor any thread of this process asks for fails with EMFILE. Free() gives one back.
class DescriptorExhaustion {
 public:
  DescriptorExhaustion() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    null_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(HighestOpenDescriptor() + 32);
    ok_ = null_ >= 0 && setrlimit(RLIMIT_NOFILE, &lowered) == 0;
    while (ok_ && fillers_.size() < lowered.rlim_cur) {  // bounded by the limit
      const int fd = fcntl(null_, F_DUPFD_CLOEXEC, 0);
      if (fd < 0) {
        ok_ = errno == EMFILE;
        break;
      }
      fillers_.push_back(fd);
    }
  }
  ~DescriptorExhaustion() {
    for (int fd : fillers_) close(fd);
    if (null_ >= 0) close(null_);
    setrlimit(RLIMIT_NOFILE, &saved_);
  }
  bool ok() const { return ok_; }
  void Free(int n) {
    for (int i = 0; i < n && !fillers_.empty(); ++i) {
      close(fillers_.back());
      fillers_.pop_back();
    }
  }
  void FreeAll() { Free(static_cast<int>(fillers_.size())); }

 private:
  rlimit saved_{};
  int null_ = -1;
  bool ok_ = false;
  std::vector<int> fillers_;
};

TEST(HttpLimitsTest, AcceptSurvivesRunningOutOfDescriptors) {
  HttpServer server(LocalOptions());
  server.Route("/x", [](const HttpRequest&, Responder r) { Text(r, 200, "x"); });
  ASSERT_TRUE(server.Start().ok());
  {
    TestHttpClient warm(server.port());
    ASSERT_TRUE(warm.Connect().ok());
    ASSERT_TRUE(warm.Get("/x").ok());
  }
  // The server's end of that connection must be closed before descriptors run out, or its
  // descriptor would come free in the middle of the test.
  ASSERT_TRUE(WaitFor([&] { return server.connections_open() == 0; }));
  RawSocket client;
  {
    DescriptorExhaustion exhaustion;
    ASSERT_TRUE(exhaustion.ok()) << "could not exhaust descriptors";
    exhaustion.Free(1);  // for the client's socket; the server's accept gets EMFILE
    absl::StatusOr<RawSocket> connected = RawSocket::Connect(server.port());
    ASSERT_TRUE(connected.ok()) << connected.status();  // completed by the kernel's backlog
    client = *std::move(connected);
    ASSERT_TRUE(client.SendAll("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok());
    // Accept fails, backs off 100 ms and fails again: it keeps trying.
    ASSERT_TRUE(WaitFor([&] { return server.stats().accept_errors >= 3; }));
    EXPECT_EQ(server.stats().connections_accepted, 1u);  // the warm-up only
  }                                                      // descriptors are back
  bool closed = false;
  const std::string answer = client.ReadUntilClosed(absl::Seconds(5), &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(server.stats().connections_accepted, 2u);
}

TEST_P(HttpWriteLimitsTest, AClientThatStopsReadingIsClosedByTheWriteTimeout) {
  HttpServerOptions options = LocalOptions();
  options.write_timeout = absl::Milliseconds(300);
  HttpServer server(options);
  // Larger than any socket buffers (4 MiB at most by default): the write cannot finish.
  server.Route("/big", [](const HttpRequest&, Responder r) {
    r.response().set_body(std::string(8 * kMiB, 'b'));
    r.Send();
  });
  ASSERT_TRUE(server.Start().ok());
  std::unique_ptr<TestHttpClient> stalled = StalledClient(server.port(), kGetBig);
  ASSERT_TRUE(WaitFor([&] { return server.stats().pending_response_bytes == 8 * kMiB; }));
  const absl::Time held = absl::Now();
  ASSERT_TRUE(WaitFor([&] { return server.connections_open() == 0; }));
  EXPECT_GE(absl::Now() - held, absl::Milliseconds(250));  // not before the timeout
  const HttpServerStats stats = server.stats();
  EXPECT_EQ(stats.write_timeouts, 1u);
  EXPECT_EQ(stats.pending_response_bytes, 0u);  // the answer's memory is released
  // The client sees the connection end before the whole answer.
  bool closed = false;
  const std::string got = stalled->ReadUntilClosed(&closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(got.size(), 8 * kMiB);
}

TEST_P(HttpWriteLimitsTest, ASlowButSteadyReaderIsNotTimedOut) {
  HttpServerOptions options = LocalOptions();
  options.write_timeout = absl::Seconds(1);
  HttpServer server(options);
  server.Route("/big", [](const HttpRequest&, Responder r) {
    r.response().set_body(std::string(8 * kMiB, 'b'));
    r.Send();
  });
  ASSERT_TRUE(server.Start().ok());
  auto client =
      std::make_unique<TestHttpClient>(server.port(), absl::Seconds(5), ClientTls(), 64 * 1024);
  ASSERT_TRUE(client->Connect().ok());
  ASSERT_TRUE(client->SendRaw("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok());
  // At most 32 KiB per 10 ms (~3 MiB/s): the answer takes twice the write timeout or more, and
  // the server's send buffer (<= 4 MiB) frees a third of itself well within it.
  const absl::Time start = absl::Now();
  size_t received = 0;
  bool closed = false;
  for (int i = 0; i < 100000 && !closed; ++i) {
    absl::StatusOr<std::string> piece = client->ReadSome(32 * 1024, &closed);
    ASSERT_TRUE(piece.ok()) << piece.status();
    received += piece->size();
    absl::SleepFor(absl::Milliseconds(10));  // pacing the reader, not synchronisation
  }
  EXPECT_TRUE(closed);
  EXPECT_GT(received, 8 * kMiB);  // head + the whole body
  EXPECT_GT(absl::Now() - start, options.write_timeout * 2);
  EXPECT_EQ(server.stats().write_timeouts, 0u);
}

TEST_P(HttpWriteLimitsTest, AnswersBeyondThePendingBudgetGet503) {
  HttpServerOptions options = LocalOptions();
  options.max_pending_response_bytes = 20 * kMiB;
  HttpServer server(options);
  server.RoutePrefix("/big/", [](const HttpRequest&, Responder r) {
    r.response().set_body(std::string(8 * kMiB, 'b'));  // a fresh body per answer
    r.Send();
  });
  server.Route("/x", [](const HttpRequest&, Responder r) { Text(r, 200, "x"); });
  ASSERT_TRUE(server.Start().ok());

  auto first = StalledClient(server.port(), "GET /big/1 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto second = StalledClient(server.port(), "GET /big/2 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(WaitFor([&] { return server.stats().pending_response_bytes == 16 * kMiB; }));

  TestHttpClient client(server.port(), ClientTls());
  ASSERT_TRUE(client.Connect().ok());
  auto r = client.Get("/big/3");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->result_int(), 503);
  EXPECT_EQ(Header(*r, "Retry-After"), "1");
  EXPECT_THAT(r->body(), HasSubstr("too many answers waiting"));
  EXPECT_TRUE(r->keep_alive());
  EXPECT_EQ(server.stats().answers_refused, 1u);
  r = client.Get("/x");  // small answers always pass
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result_int(), 200);

  // Stalled clients that go away give their share back.
  first->Close();
  second->Close();
  ASSERT_TRUE(WaitFor([&] { return server.stats().pending_response_bytes == 0; }));
  r = client.Get("/big/3");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(r->body().size(), 8 * kMiB);
}

TEST_P(HttpWriteLimitsTest, ASharedBodyIsHeldOnceForManyStalledClients) {
  HttpServerOptions options = LocalOptions();
  options.max_pending_response_bytes = 20 * kMiB;
  HttpServer server(options);
  auto body = std::make_shared<const std::string>(8 * kMiB, 's');
  std::atomic<int> served{0};
  server.Route("/big", [&](const HttpRequest&, Responder r) {
    r.response().set_shared_body(body);
    served.fetch_add(1);
    r.Send();
  });
  ASSERT_TRUE(server.Start().ok());
  std::vector<std::unique_ptr<TestHttpClient>> stalled;
  for (int i = 0; i < 5; ++i) stalled.push_back(StalledClient(server.port(), kGetBig));
  ASSERT_TRUE(WaitFor([&] { return served.load() == 5; }));
  ASSERT_TRUE(WaitFor([&] { return body.use_count() == 6; }));  // 5 answers + this test
  EXPECT_EQ(server.stats().pending_response_bytes, 8 * kMiB);   // once, not 5 times
  EXPECT_EQ(server.stats().answers_refused, 0u);

  TestHttpClient client(server.port(), ClientTls());
  ASSERT_TRUE(client.Connect().ok());
  auto r = client.Get("/big");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body(), *body);
  r = client.Request(boost::beast::http::verb::head, "/big");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Header(*r, "Content-Length"), absl::StrCat(8 * kMiB));
  EXPECT_EQ(r->body(), "");

  stalled.clear();
  ASSERT_TRUE(WaitFor([&] { return server.stats().pending_response_bytes == 0; }));
  ASSERT_TRUE(WaitFor([&] { return body.use_count() == 1; }));  // no connection keeps it
}

}  // namespace
}  // namespace kv::server

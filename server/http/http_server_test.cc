#include "server/http/http_server.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_test_client.h"
#include "server/http/http_test_transport.h"
#include "server/http/test_worker.h"

namespace kv::server {
namespace {

using ::kv::server::testing::AllTransports;
using ::kv::server::testing::Header;
using ::kv::server::testing::TestHttpClient;
using ::kv::server::testing::TestWorker;
using ::kv::server::testing::TransportName;
using ::kv::server::testing::TransportTest;
using ::testing::HasSubstr;
namespace http = boost::beast::http;

void Text(Responder& r, int status, absl::string_view text) {
  r.response().SetText(status, text);
  r.Send();
}

// Responders parked by a handler, to be completed later by the test.
class Parked {
 public:
  void Add(Responder r) {
    absl::MutexLock lock(&mu_);
    responders_.push_back(std::move(r));
  }
  bool WaitFor(size_t n, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return responders_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  Responder Take() {
    absl::MutexLock lock(&mu_);
    Responder r = std::move(responders_.front());
    responders_.erase(responders_.begin());
    return r;
  }

 private:
  absl::Mutex mu_;
  std::vector<Responder> responders_ ABSL_GUARDED_BY(mu_);
};

// Every test runs over plain HTTP and over TLS.
class HttpServerTest : public TransportTest {};
INSTANTIATE_TEST_SUITE_P(Transports, HttpServerTest, AllTransports(), TransportName);

TEST_P(HttpServerTest, RoutesExactAndLongestPrefix) {
  HttpServer server(LocalOptions());
  server.Route("/a", [](const HttpRequest&, Responder r) { Text(r, 200, "exact a"); });
  server.RoutePrefix("/a/", [](const HttpRequest& req, Responder r) {
    Text(r, 200, absl::StrCat("prefix a: ", req.path, " q=", req.query));
  });
  server.RoutePrefix("/a/b/", [](const HttpRequest&, Responder r) { Text(r, 200, "prefix ab"); });
  ASSERT_TRUE(server.Start().ok());
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(server.bound_address(), absl::StrCat("127.0.0.1:", server.port()));

  TestHttpClient client(server.port(), ClientTls());
  ASSERT_TRUE(client.Connect().ok());
  auto r = client.Get("/a");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(r->body(), "exact a\n");
  EXPECT_EQ(Header(*r, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_FALSE(Header(*r, "Date").empty());

  r = client.Get("/a/x%2Fy?k=v");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body(), "prefix a: /a/x%2Fy q=k=v\n");
  r = client.Get("/a/b/c");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body(), "prefix ab\n");
  r = client.Get("/nothing");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result_int(), 404);
  EXPECT_THAT(r->body(), HasSubstr("no route for /nothing"));
}

TEST_P(HttpServerTest, KeepAliveReusesOneConnection) {
  HttpServer server(LocalOptions());
  std::atomic<int> calls{0};
  server.Route("/n", [&calls](const HttpRequest&, Responder r) {
    Text(r, 200, absl::StrCat(calls.fetch_add(1)));
  });
  ASSERT_TRUE(server.Start().ok());
  TestHttpClient client(server.port(), ClientTls());
  ASSERT_TRUE(client.Connect().ok());
  for (int i = 0; i < 200; ++i) {
    auto r = client.Get("/n");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body(), absl::StrCat(i, "\n"));
    EXPECT_TRUE(r->keep_alive());
  }
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(server.connections_open(), 1);
}

TEST_P(HttpServerTest, AsynchronousCompletionFromAnotherThread) {
  TestWorker worker;
  HttpServer server(LocalOptions());
  server.Route("/later", [&worker](const HttpRequest& req, Responder r) {
    std::string peer(req.peer);  // the request view is gone once the handler returns
    worker.Post([r = std::move(r), peer]() mutable { Text(r, 202, peer); }, absl::Milliseconds(20));
  });
  ASSERT_TRUE(server.Start().ok());
  TestHttpClient client(server.port(), ClientTls());
  ASSERT_TRUE(client.Connect().ok());
  for (int i = 0; i < 3; ++i) {
    auto r = client.Get("/later");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->result_int(), 202);
    EXPECT_THAT(r->body(), HasSubstr("ipv4:127.0.0.1:"));
  }
}

TEST_P(HttpServerTest, ManyConnectionsOnSeveralThreads) {
  TestWorker worker;
  HttpServer server(LocalOptions(/*threads=*/3));
  server.RoutePrefix("/echo/", [&worker](const HttpRequest& req, Responder r) {
    std::string body(req.path.substr(6));
    if (body.back() == '1') {  // every other request completes on another thread
      worker.Post([r = std::move(r), body]() mutable { Text(r, 200, body); });
    } else {
      Text(r, 200, body);
    }
  });
  ASSERT_TRUE(server.Start().ok());
  constexpr int kClients = 8;
  constexpr int kRequests = 100;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      TestHttpClient client(server.port(), ClientTls());
      if (!client.Connect().ok()) return;
      for (int i = 0; i < kRequests; ++i) {
        const std::string id = absl::StrCat(c, "-", i % 2);
        auto r = client.Get(absl::StrCat("/echo/", id));
        if (r.ok() && r->body() == id + "\n") ok.fetch_add(1);
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  EXPECT_EQ(server.connections_accepted(), static_cast<uint64_t>(kClients));
}

TEST_P(HttpServerTest, HeadSendsLengthButNoBody) {
  HttpServer server(LocalOptions());
  server.Route("/x", [](const HttpRequest&, Responder r) { Text(r, 200, "twelve bytes"); });
  ASSERT_TRUE(server.Start().ok());
  TestHttpClient client(server.port(), ClientTls());
  ASSERT_TRUE(client.Connect().ok());
  auto r = client.Request(http::verb::head, "/x");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Header(*r, "Content-Length"), "13");
  EXPECT_EQ(r->body(), "");
  // The connection is still in sync: the next answer parses.
  r = client.Get("/x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body(), "twelve bytes\n");
}

TEST_P(HttpServerTest, ConnectionCloseAndHttp10) {
  HttpServer server(LocalOptions());
  server.Route("/x", [](const HttpRequest& req, Responder r) {
    Text(r, 200, absl::StrCat("v", req.version));
  });
  ASSERT_TRUE(server.Start().ok());
  {
    TestHttpClient client(server.port(), ClientTls());
    ASSERT_TRUE(client.Connect().ok());
    auto r = client.Request(http::verb::get, "/x", /*keep_alive=*/false);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(Header(*r, "Connection"), "close");
    EXPECT_TRUE(client.ClosedByServer());
  }
  {
    TestHttpClient client(server.port(), ClientTls());
    ASSERT_TRUE(client.Connect().ok());
    ASSERT_TRUE(client.SendRaw("GET /x HTTP/1.0\r\n\r\n").ok());
    auto r = client.Read();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->body(), "v10\n");
    EXPECT_TRUE(client.ClosedByServer());
  }
  {
    TestHttpClient client(server.port(), ClientTls());
    ASSERT_TRUE(client.Connect().ok());
    ASSERT_TRUE(client.SendRaw("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").ok());
    auto r = client.Read();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(Header(*r, "Connection"), "keep-alive");
    r = client.Get("/x");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->body(), "v11\n");
  }
}

TEST_P(HttpServerTest, PipelinedRequestsAnswerInOrder) {
  TestWorker worker;
  HttpServer server(LocalOptions());
  server.RoutePrefix("/p/", [&worker](const HttpRequest& req, Responder r) {
    std::string body(req.path);
    if (body == "/p/slow") {
      worker.Post([r = std::move(r), body]() mutable { Text(r, 200, body); },
                  absl::Milliseconds(30));
    } else {
      Text(r, 200, body);
    }
  });
  ASSERT_TRUE(server.Start().ok());
  TestHttpClient client(server.port(), ClientTls());
  ASSERT_TRUE(client.Connect().ok());
  ASSERT_TRUE(client
                  .SendRaw("GET /p/slow HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /p/fast HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /p/last HTTP/1.1\r\nHost: x\r\n\r\n")
                  .ok());
  for (const char* expected : {"/p/slow\n", "/p/fast\n", "/p/last\n"}) {
    auto r = client.Read();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body(), expected);
  }
}

TEST_P(HttpServerTest, BadRequestsAreRejectedAndClosed) {
  HttpServerOptions options = LocalOptions();
  options.max_header_bytes = 1024;
  options.max_body_bytes = 100;
  HttpServer server(options);
  server.Route("/x", [](const HttpRequest& req, Responder r) {
    Text(r, 200, absl::StrCat("body ", req.body.size()));
  });
  ASSERT_TRUE(server.Start().ok());
  struct Case {
    std::string raw;
    int status;
  };
  const std::vector<Case> cases = {
      {"NOT HTTP AT ALL\r\n\r\n", 400},
      {absl::StrCat("GET /x HTTP/1.1\r\nHost: x\r\nX-Big: ", std::string(2000, 'a'), "\r\n\r\n"),
       431},
      {absl::StrCat("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n",
                    std::string(101, 'b')),
       413},
  };
  for (const Case& c : cases) {
    TestHttpClient client(server.port(), ClientTls());
    ASSERT_TRUE(client.Connect().ok());
    ASSERT_TRUE(client.SendRaw(c.raw).ok());
    auto r = client.Read();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->result_int(), c.status) << c.raw.substr(0, 20);
    EXPECT_EQ(Header(*r, "Connection"), "close");
    EXPECT_TRUE(client.ClosedByServer());
  }
  // A body within the limit is delivered.
  TestHttpClient client(server.port(), ClientTls());
  ASSERT_TRUE(client.Connect().ok());
  ASSERT_TRUE(client.SendRaw("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").ok());
  auto r = client.Read();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body(), "body 5\n");
}

TEST_P(HttpServerTest, IdleConnectionsAreClosed) {
  HttpServerOptions options = LocalOptions();
  options.idle_timeout = absl::Milliseconds(150);
  HttpServer server(options);
  server.Route("/x", [](const HttpRequest&, Responder r) { Text(r, 200, "x"); });
  ASSERT_TRUE(server.Start().ok());
  TestHttpClient client(server.port(), ClientTls(), absl::Seconds(5));
  ASSERT_TRUE(client.Connect().ok());
  ASSERT_TRUE(client.Get("/x").ok());
  const absl::Time start = absl::Now();
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  for (int i = 0; i < 100 && server.connections_open() != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(server.connections_open(), 0);
}

TEST_P(HttpServerTest, IdleTimeoutSparesSlowHandlersAndActiveClients) {
  TestWorker worker;
  HttpServerOptions options = LocalOptions();
  options.idle_timeout = absl::Milliseconds(100);
  HttpServer server(options);
  server.Route("/slow", [&worker](const HttpRequest&, Responder r) {
    worker.Post([r = std::move(r)]() mutable { Text(r, 200, "slow"); }, absl::Milliseconds(400));
  });
  server.Route("/x", [](const HttpRequest&, Responder r) { Text(r, 200, "x"); });
  ASSERT_TRUE(server.Start().ok());
  TestHttpClient client(server.port(), ClientTls());
  ASSERT_TRUE(client.Connect().ok());
  auto r = client.Get("/slow");  // waits 4x the idle timeout for the handler
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body(), "slow\n");
  for (int i = 0; i < 10; ++i) {  // a request every 40 ms keeps the connection open
    absl::SleepFor(absl::Milliseconds(40));
    ASSERT_TRUE(client.Get("/x").ok()) << i;
  }
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_P(HttpServerTest, DroppedResponderAnswers500AndHeaderInjectionIsDropped) {
  HttpServer server(LocalOptions());
  server.Route("/drop", [](const HttpRequest&, Responder) {});
  server.Route("/inject", [](const HttpRequest&, Responder r) {
    r.response().AddHeader("X-Ok", "fine");
    r.response().AddHeader("X-Bad", "a\r\nSet-Cookie: evil=1");
    r.response().AddHeader("X-Bad\r\nInjected", "v");
    Text(r, 200, "done");
  });
  ASSERT_TRUE(server.Start().ok());
  TestHttpClient client(server.port(), ClientTls());
  ASSERT_TRUE(client.Connect().ok());
  auto r = client.Get("/drop");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result_int(), 500);
  EXPECT_THAT(r->body(), HasSubstr("dropped"));
  r = client.Get("/inject");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Header(*r, "X-Ok"), "fine");
  EXPECT_EQ(Header(*r, "X-Bad"), "");
  EXPECT_EQ(Header(*r, "Set-Cookie"), "");
  EXPECT_EQ(Header(*r, "Injected"), "");
}

TEST_P(HttpServerTest, StartErrors) {
  HttpServer first(LocalOptions());
  ASSERT_TRUE(first.Start().ok());
  HttpServerOptions options = LocalOptions();
  options.listen = absl::StrCat("127.0.0.1:", first.port());
  HttpServer second(options);
  absl::Status s = second.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr("cannot listen on 127.0.0.1:"));
  EXPECT_THAT(s.message(), HasSubstr("in use"));

  for (const char* bad :
       {"8080", "127.0.0.1:http", "127.0.0.1:70000", "127.0.0.1:-1", "no-such-host.invalid:80"}) {
    HttpServerOptions o = LocalOptions();
    o.listen = bad;
    HttpServer server(o);
    s = server.Start();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr(bad));
  }
  HttpServerOptions o = LocalOptions();
  o.threads = 0;
  HttpServer zero_threads(o);
  EXPECT_EQ(zero_threads.Start().code(), absl::StatusCode::kInvalidArgument);

  // A name is resolved (from /etc/hosts: no network needed).
  HttpServerOptions by_name = LocalOptions();
  by_name.listen = "localhost:0";
  HttpServer named(by_name);
  EXPECT_TRUE(named.Start().ok());
  EXPECT_GT(named.port(), 0);

  HttpServer never_started(LocalOptions());
  never_started.Stop();
  first.Stop();
  first.Stop();
}

TEST_P(HttpServerTest, StopWaitsForAnswerInFlightThenCloses) {
  HttpServerOptions options = LocalOptions();
  options.drain_timeout = absl::Seconds(5);
  HttpServer server(options);
  Parked parked;
  server.Route("/park", [&parked](const HttpRequest&, Responder r) { parked.Add(std::move(r)); });
  server.Route("/x", [](const HttpRequest&, Responder r) { Text(r, 200, "x"); });
  ASSERT_TRUE(server.Start().ok());

  TestHttpClient busy(server.port(), ClientTls());
  ASSERT_TRUE(busy.Connect().ok());
  ASSERT_TRUE(busy.Send(http::verb::get, "/park").ok());
  ASSERT_TRUE(parked.WaitFor(1));
  TestHttpClient idle(server.port(), ClientTls());
  ASSERT_TRUE(idle.Connect().ok());
  ASSERT_TRUE(idle.Get("/x").ok());

  absl::Notification stopped;
  std::thread stopper([&] {
    server.Stop();
    stopped.Notify();
  });
  // The idle connection is closed at once; the busy one still gets its answer.
  EXPECT_TRUE(idle.ClosedByServer());
  EXPECT_FALSE(stopped.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  Responder r = parked.Take();
  Text(r, 200, "late");
  auto answer = busy.Read();
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->body(), "late\n");
  EXPECT_EQ(Header(*answer, "Connection"), "close");
  EXPECT_TRUE(busy.ClosedByServer());
  EXPECT_TRUE(stopped.WaitForNotificationWithTimeout(absl::Seconds(4)));
  stopper.join();
}

TEST_P(HttpServerTest, StopGivesUpOnStuckAnswersAndLateSendsAreSafe) {
  Parked parked;
  auto server = std::make_unique<HttpServer>([this] {
    HttpServerOptions options = LocalOptions(2);
    options.drain_timeout = absl::Milliseconds(200);
    return options;
  }());
  server->Route("/park", [&parked](const HttpRequest&, Responder r) { parked.Add(std::move(r)); });
  ASSERT_TRUE(server->Start().ok());
  std::vector<std::unique_ptr<TestHttpClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<TestHttpClient>(server->port(), ClientTls()));
    ASSERT_TRUE(clients.back()->Connect().ok());
    ASSERT_TRUE(clients.back()->Send(http::verb::get, "/park").ok());
  }
  ASSERT_TRUE(parked.WaitFor(3));
  const absl::Time start = absl::Now();
  server->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  for (auto& c : clients) EXPECT_TRUE(c->ClosedByServer());

  // Completing after Stop, from this and another thread, and after the server is gone.
  Responder a = parked.Take();
  Text(a, 200, "too late");
  std::thread([r = parked.Take()]() mutable { Text(r, 200, "too late"); }).join();
  server.reset();
  Responder c = parked.Take();
  Text(c, 200, "much too late");
}

}  // namespace
}  // namespace kv::server

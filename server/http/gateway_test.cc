#include "server/http/gateway.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_test_client.h"
#include "server/http/test_worker.h"

namespace kv::server {
namespace {

using ::kv::server::testing::Header;
using ::kv::server::testing::TestHttpClient;
using ::kv::server::testing::TestWorker;
using ::testing::HasSubstr;
using ::testing::Not;
namespace http = boost::beast::http;
namespace pb = kvstore::v1;

// Answers Get from a map. Keys starting with "async/" complete on another thread, keys
// "err/<code>" fail with that canonical code, "park/..." wait until the test completes them.
class FakeNode final : public Node {
 public:
  void Put(std::string key, std::string value, uint64_t version) {
    absl::MutexLock lock(&mu_);
    pb::Entry& e = entries_[key];
    e.set_key(key);
    e.set_value(std::move(value));
    e.set_version(version);
  }
  void PutEntry(const pb::Entry& entry) {
    absl::MutexLock lock(&mu_);
    entries_[entry.key()] = entry;
  }
  void SetInfo(const pb::ReadInfo& info) {
    absl::MutexLock lock(&mu_);
    info_ = info;
  }
  void SetReady(bool ready, std::string why) {
    absl::MutexLock lock(&mu_);
    ready_ = ready;
    why_ = std::move(why);
  }
  pb::GetRequest last_request() {
    absl::MutexLock lock(&mu_);
    return last_request_;
  }
  CallContext last_context() {
    absl::MutexLock lock(&mu_);
    return last_context_;
  }
  int gets() {
    absl::MutexLock lock(&mu_);
    return gets_;
  }
  bool WaitForParked(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return parked_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }
  // Completes every parked call with NOT_FOUND.
  void ReleaseParked() {
    std::vector<Done> parked;
    {
      absl::MutexLock lock(&mu_);
      parked.swap(parked_);
    }
    for (Done& done : parked) std::move(done)(absl::OkStatus());
  }

  void Get(const pb::GetRequest& request, pb::GetResponse* response, const CallContext& call,
           Done done) override {
    absl::MutexLock lock(&mu_);
    ++gets_;
    last_request_ = request;
    last_context_ = call;
    const std::string& key = request.key();
    if (absl::StartsWith(key, "err/")) {
      int code = 0;
      EXPECT_TRUE(absl::SimpleAtoi(key.substr(4), &code));
      worker_.Post([done = std::move(done), code]() mutable {
        std::move(done)(absl::Status(static_cast<absl::StatusCode>(code), "node says no"));
      });
      return;
    }
    if (absl::StartsWith(key, "park/")) {
      parked_.push_back(std::move(done));
      return;
    }
    *response->mutable_info() = info_;
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      response->set_found(true);
      *response->mutable_entry() = it->second;
    }
    if (absl::StartsWith(key, "async/")) {
      worker_.Post([done = std::move(done)]() mutable { std::move(done)(absl::OkStatus()); });
    } else {
      std::move(done)(absl::OkStatus());
    }
  }

  void BatchGet(const pb::BatchGetRequest&, pb::BatchGetResponse*, const CallContext&,
                Done done) override {
    std::move(done)(absl::UnimplementedError("fake"));
  }
  void Put(const pb::PutRequest&, pb::PutResponse*, const CallContext&, Done done) override {
    std::move(done)(absl::UnimplementedError("fake"));
  }
  void Delete(const pb::DeleteRequest&, pb::DeleteResponse*, const CallContext&,
              Done done) override {
    std::move(done)(absl::UnimplementedError("fake"));
  }
  void List(const pb::ListRequest&, pb::ListResponse*, const CallContext&, Done done) override {
    std::move(done)(absl::UnimplementedError("fake"));
  }
  void Fetch(const pb::FetchRequest&, pb::FetchResponse*, const CallContext&, Done done) override {
    std::move(done)(absl::UnimplementedError("fake"));
  }
  void GetStatus(pb::StatusResponse* status) override { status->set_role("edge"); }
  bool Ready(std::string* why_not) override {
    absl::MutexLock lock(&mu_);
    if (!ready_) *why_not = why_;
    return ready_;
  }

 private:
  TestWorker worker_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, pb::Entry> entries_ ABSL_GUARDED_BY(mu_);
  pb::ReadInfo info_ ABSL_GUARDED_BY(mu_);
  bool ready_ ABSL_GUARDED_BY(mu_) = true;
  std::string why_ ABSL_GUARDED_BY(mu_);
  pb::GetRequest last_request_ ABSL_GUARDED_BY(mu_);
  CallContext last_context_ ABSL_GUARDED_BY(mu_);
  int gets_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Done> parked_ ABSL_GUARDED_BY(mu_);
};

class GatewayTest : public ::testing::Test {
 protected:
  void StartServer(int threads = 1, absl::Duration drain = absl::Seconds(2)) {
    HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = threads;
    options.drain_timeout = drain;
    server_ = std::make_unique<HttpServer>(options);
    GatewayOptions gateway;
    gateway.read_timeout = absl::Seconds(7);
    RegisterGatewayRoutes(server_.get(), &node_, &metrics_, gateway);
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<TestHttpClient>(server_->port());
    ASSERT_TRUE(client_->Connect().ok());
  }
  void SetUp() override { StartServer(); }

  testing::HttpResult Get(absl::string_view target) {
    auto r = client_->Get(target);
    EXPECT_TRUE(r.ok()) << target << ": " << r.status();
    return r.ok() ? *std::move(r) : testing::HttpResult();
  }

  Metrics metrics_;  // outlives node calls still in flight
  FakeNode node_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<TestHttpClient> client_;
};

TEST_F(GatewayTest, HealthAndReadiness) {
  auto r = Get("/healthz");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "ok\n");
  r = Get("/readyz");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "ready\n");
  node_.SetReady(false, "staleness 12s above bound 5s");
  r = Get("/readyz");
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_EQ(r.body(), "not ready: staleness 12s above bound 5s\n");
  auto post = client_->Request(http::verb::post, "/healthz");
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->result_int(), 405);
  EXPECT_EQ(Header(*post, "Allow"), "GET, HEAD");
  EXPECT_EQ(Get("/nope").result_int(), 404);
}

TEST_F(GatewayTest, FoundValueWithFreshnessHeaders) {
  pb::Entry entry;
  entry.set_key("user/42");
  entry.set_value(std::string("\0bin\xff\r\n", 7));
  entry.set_version(1234);
  entry.set_expiration(1900000000);
  entry.set_metadata("ct=json; v=2");
  node_.PutEntry(entry);
  pb::ReadInfo info;
  info.set_staleness_micros(12345);
  info.set_source(pb::SOURCE_EDGE_CACHE);
  info.set_as_of_version(2000);
  info.set_node_id("edge-eu-1");
  node_.SetInfo(info);

  auto r = Get("/v1/kv/user/42");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), entry.value());
  EXPECT_EQ(Header(r, "Content-Type"), "application/octet-stream");
  EXPECT_EQ(Header(r, "Content-Length"), "7");
  EXPECT_EQ(Header(r, "X-KV-Version"), "1234");
  EXPECT_EQ(Header(r, "X-KV-Staleness-Seconds"), "0.012345");
  EXPECT_EQ(Header(r, "X-KV-Source"), "edge-cache");
  EXPECT_EQ(Header(r, "X-KV-As-Of-Version"), "2000");
  EXPECT_EQ(Header(r, "X-KV-Node"), "edge-eu-1");
  EXPECT_EQ(Header(r, "X-KV-Expiration"), "1900000000");
  EXPECT_EQ(Header(r, "X-KV-Metadata"), "ct%3Djson%3B%20v%3D2");
  EXPECT_EQ(Header(r, "X-KV-Stale"), "");

  // Served stale, from a store, no expiration or metadata.
  node_.Put("plain", "v", 5);
  info.set_stale(true);
  info.set_source(pb::SOURCE_EDGE_STORE);
  info.set_staleness_micros(3'000'001);
  node_.SetInfo(info);
  r = Get("/v1/kv/plain");
  EXPECT_EQ(r.body(), "v");
  EXPECT_EQ(Header(r, "X-KV-Stale"), "true");
  EXPECT_EQ(Header(r, "X-KV-Source"), "edge-store");
  EXPECT_EQ(Header(r, "X-KV-Staleness-Seconds"), "3.000001");
  EXPECT_EQ(Header(r, "X-KV-Expiration"), "");
  EXPECT_EQ(Header(r, "X-KV-Metadata"), "");

  // HEAD: same headers, no body.
  auto head = client_->Request(http::verb::head, "/v1/kv/user/42");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->result_int(), 200);
  EXPECT_EQ(Header(*head, "Content-Length"), "7");
  EXPECT_EQ(Header(*head, "X-KV-Version"), "1234");
  EXPECT_EQ(head->body(), "");
}

TEST_F(GatewayTest, NotFoundCarriesFreshness) {
  pb::ReadInfo info;
  info.set_source(pb::SOURCE_CENTRAL);
  info.set_as_of_version(77);
  info.set_node_id("central");
  node_.SetInfo(info);
  auto r = Get("/v1/kv/missing");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_EQ(r.body(), "not found\n");
  EXPECT_EQ(Header(r, "X-KV-Source"), "central");
  EXPECT_EQ(Header(r, "X-KV-As-Of-Version"), "77");
  EXPECT_EQ(Header(r, "X-KV-Staleness-Seconds"), "0.000000");
  EXPECT_EQ(Header(r, "X-KV-Version"), "");
}

TEST_F(GatewayTest, KeysArePercentDecoded) {
  struct Case {
    const char* target;
    std::string key;
  };
  const std::vector<Case> cases = {
      {"/v1/kv/a%2Fb", "a/b"},
      {"/v1/kv/a/b/c", "a/b/c"},
      {"/v1/kv/%00%ff%41", std::string("\0\xff"
                                       "A",
                                       3)},
      {"/v1/kv/sp%20ace+plus", "sp ace+plus"},
      {"/v1/kv/q%3Fmark?min_version=3", "q?mark"},
      {"/v1/kv//lead", "/lead"},
  };
  for (const Case& c : cases) {
    Get(c.target);
    EXPECT_EQ(node_.last_request().key(), c.key) << c.target;
  }
  const int gets = node_.gets();
  for (const char* bad : {"/v1/kv/a%zz", "/v1/kv/a%2", "/v1/kv/%"}) {
    auto r = Get(bad);
    EXPECT_EQ(r.result_int(), 400) << bad;
    EXPECT_THAT(r.body(), HasSubstr("key: malformed percent-escape")) << bad;
    EXPECT_EQ(Header(r, "X-KV-Code"), "INVALID_ARGUMENT");
  }
  for (const char* empty : {"/v1/kv/", "/v1/kv", "/v1/kv?consistency=strong"}) {
    auto r = Get(empty);
    EXPECT_EQ(r.result_int(), 400) << empty;
    EXPECT_THAT(r.body(), HasSubstr("missing key"));
  }
  EXPECT_EQ(Get("/v1/kvx").result_int(), 404);
  EXPECT_EQ(node_.gets(), gets);  // rejected requests never reach the node
}

TEST_F(GatewayTest, ReadOptionsAndCallContext) {
  Get("/v1/kv/k?consistency=strong&max_staleness=500ms&min_version=42&allow_stale=1");
  pb::GetRequest request = node_.last_request();
  EXPECT_EQ(request.options().consistency(), pb::CONSISTENCY_STRONG);
  EXPECT_EQ(request.options().max_staleness_micros(), 500000);
  EXPECT_EQ(request.options().min_version(), 42u);
  EXPECT_TRUE(request.options().allow_stale());
  const CallContext context = node_.last_context();
  EXPECT_THAT(context.peer, HasSubstr("ipv4:127.0.0.1:"));
  EXPECT_GT(context.deadline, absl::Now() + absl::Seconds(5));
  EXPECT_LT(context.deadline, absl::Now() + absl::Seconds(8));

  Get("/v1/kv/k?consistency=BOUNDED&max_staleness=2&allow_stale=false");
  request = node_.last_request();
  EXPECT_EQ(request.options().consistency(), pb::CONSISTENCY_BOUNDED);
  EXPECT_EQ(request.options().max_staleness_micros(), 2000000);
  EXPECT_FALSE(request.options().allow_stale());
  Get("/v1/kv/k");
  EXPECT_EQ(node_.last_request().options().ByteSizeLong(), 0u);
}

TEST_F(GatewayTest, BadQueryParametersAre400NamingTheParameter) {
  struct Case {
    const char* query;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"consistency=weird", "'consistency': must be 'strong' or 'bounded'"},
      {"max_staleness=abc", "'max_staleness': bad duration"},
      {"max_staleness=-1s", "'max_staleness': duration must be >= 0"},
      {"min_version=x", "'min_version': must be an unsigned integer"},
      {"min_version=-1", "'min_version'"},
      {"allow_stale=maybe", "'allow_stale': must be true, false, 1 or 0"},
      {"maxstaleness=1s", "unknown query parameter 'maxstaleness'"},
      {"min_version=1&min_version=2", "'min_version' is given more than once"},
      {"min_version=%zz", "'min_version': malformed percent-escape"},
  };
  const int gets = node_.gets();
  for (const Case& c : cases) {
    auto r = Get(absl::StrCat("/v1/kv/k?", c.query));
    EXPECT_EQ(r.result_int(), 400) << c.query;
    EXPECT_THAT(r.body(), HasSubstr(c.message)) << c.query;
    pb::ReadOptions options;
    EXPECT_EQ(ParseReadOptions(c.query, &options).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(node_.gets(), gets);
}

TEST_F(GatewayTest, NodeErrorsMapToHttpStatus) {
  const std::vector<std::pair<absl::StatusCode, int>> cases = {
      {absl::StatusCode::kInvalidArgument, 400},
      {absl::StatusCode::kNotFound, 404},
      {absl::StatusCode::kFailedPrecondition, 412},
      {absl::StatusCode::kResourceExhausted, 429},
      {absl::StatusCode::kUnavailable, 503},
      {absl::StatusCode::kDeadlineExceeded, 504},
      {absl::StatusCode::kUnauthenticated, 401},
      {absl::StatusCode::kPermissionDenied, 403},
      {absl::StatusCode::kAborted, 409},
      {absl::StatusCode::kInternal, 500},
      {absl::StatusCode::kDataLoss, 500},
      {absl::StatusCode::kUnknown, 500},
      {absl::StatusCode::kCancelled, 500},
  };
  for (const auto& [code, status] : cases) {
    EXPECT_EQ(HttpStatusFromCode(code), status);
    auto r = Get(absl::StrCat("/v1/kv/err/", static_cast<int>(code)));
    EXPECT_EQ(r.result_int(), status) << absl::StatusCodeToString(code);
    EXPECT_EQ(r.body(), "node says no\n");
    EXPECT_EQ(Header(r, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(Header(r, "X-KV-Code"), absl::StatusCodeToString(code));
  }
  EXPECT_EQ(Header(Get("/v1/kv/err/14"), "Retry-After"), "1");
}

TEST_F(GatewayTest, OtherMethodsAre405) {
  for (http::verb verb : {http::verb::post, http::verb::put, http::verb::delete_}) {
    for (const char* target : {"/v1/kv/k", "/v1/kv"}) {
      auto r = client_->Request(verb, target);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->result_int(), 405);
      EXPECT_EQ(Header(*r, "Allow"), "GET, HEAD");
    }
  }
}

TEST_F(GatewayTest, MetricsEndpointCountsHttpReads) {
  node_.Put("k", "v", 1);
  Get("/v1/kv/k");
  Get("/v1/kv/async/none");
  Get("/v1/kv/k?bad=1");
  Get("/v1/kv/err/14");
  auto r = Get("/metrics");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(Header(r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(r.body(), HasSubstr("kv_requests_total{code=\"OK\",method=\"http_get\"} 1\n"));
  EXPECT_THAT(r.body(), HasSubstr("kv_requests_total{code=\"NOT_FOUND\",method=\"http_get\"} 1\n"));
  EXPECT_THAT(r.body(),
              HasSubstr("kv_requests_total{code=\"INVALID_ARGUMENT\",method=\"http_get\"} 1\n"));
  EXPECT_THAT(r.body(),
              HasSubstr("kv_requests_total{code=\"UNAVAILABLE\",method=\"http_get\"} 1\n"));
  EXPECT_THAT(r.body(), HasSubstr("kv_request_duration_seconds_count{method=\"http_get\"} 4\n"));
  // Probes and scrapes are not counted as reads.
  EXPECT_THAT(r.body(), Not(HasSubstr("method=\"Get\"")));
}

TEST_F(GatewayTest, ConcurrentClientsSyncAndAsync) {
  server_.reset();
  StartServer(/*threads=*/2);
  constexpr int kClients = 6;
  constexpr int kRequests = 150;
  for (int i = 0; i < 10; ++i) {
    node_.Put(absl::StrCat("k", i), std::string(100 * i, 'a' + i), i + 1);
    node_.Put(absl::StrCat("async/k", i), std::string(1000 * i, 'A' + i), i + 1);
  }
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      TestHttpClient client(server_->port());
      if (!client.Connect().ok()) return;
      for (int i = 0; i < kRequests; ++i) {
        const int n = (c + i) % 10;
        const bool async = i % 3 == 0;
        auto r = client.Get(absl::StrCat("/v1/kv/", async ? "async/k" : "k", n));
        const std::string expected =
            async ? std::string(1000 * n, 'A' + n) : std::string(100 * n, 'a' + n);
        if (r.ok() && r->result_int() == 200 && r->body() == expected &&
            Header(*r, "X-KV-Version") == absl::StrCat(n + 1)) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
}

TEST_F(GatewayTest, ShutdownWhileNodeCallsArePending) {
  server_.reset();
  StartServer(/*threads=*/2, /*drain=*/absl::Milliseconds(200));
  std::vector<std::unique_ptr<TestHttpClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<TestHttpClient>(server_->port()));
    ASSERT_TRUE(clients.back()->Connect().ok());
    ASSERT_TRUE(clients.back()->Send(http::verb::get, absl::StrCat("/v1/kv/park/", i)).ok());
  }
  ASSERT_TRUE(node_.WaitForParked(3));
  const absl::Time start = absl::Now();
  server_.reset();  // Stop + destroy with three reads still at the node
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  for (auto& c : clients) EXPECT_TRUE(c->ClosedByServer());
  node_.ReleaseParked();  // late completions are dropped safely, and still counted
  EXPECT_THAT(metrics_.Serialize(),
              HasSubstr("kv_requests_total{code=\"NOT_FOUND\",method=\"http_get\"} 3\n"));
}

TEST_F(GatewayTest, LargeValue) {
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
  node_.Put("big", big, 9);
  auto r = Get("/v1/kv/big");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_TRUE(r.body() == big);
}

TEST(GatewayHelpersTest, FormatStalenessAndSourceNames) {
  EXPECT_EQ(FormatStalenessSeconds(0), "0.000000");
  EXPECT_EQ(FormatStalenessSeconds(12345), "0.012345");
  EXPECT_EQ(FormatStalenessSeconds(61'500'000), "61.500000");
  EXPECT_EQ(FormatStalenessSeconds(-5), "0.000000");
  EXPECT_EQ(SourceName(pb::SOURCE_CENTRAL), "central");
  EXPECT_EQ(SourceName(pb::SOURCE_EDGE_STORE), "edge-store");
  EXPECT_EQ(SourceName(pb::SOURCE_EDGE_CACHE), "edge-cache");
  EXPECT_EQ(SourceName(pb::SOURCE_UPSTREAM), "upstream");
  EXPECT_EQ(SourceName(pb::SOURCE_UNSPECIFIED), "");
}

}  // namespace
}  // namespace kv::server

// Tokens checked where the call arrives, tried as an attacker would: real kvd processes (a
// central node with --auth required, a full edge and a cache edge) and forged tokens signed with
// raw OpenSSL (auth/testing). Every refusal ends with a clear status, nothing written, the node
// still serving, and (at an edge) no call reaching the central node.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "auth/base64url.h"
#include "auth/testing/test_keys.h"
#include "common/reserved_keys.h"
#include "kv/local_replica.h"
#include "kvstore/v1/admin.grpc.pb.h"
#include "kvstore/v1/kv.grpc.pb.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "server/http/http_test_client.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/wait_for.h"

namespace kv::testing {
namespace {

using auth::Alg;
using auth::Key;
using auth::testing::Forge;
using auth::testing::JwksOf;
using auth::testing::NewKey;

constexpr char kIssuer[] = "https://issuer.test";
constexpr char kAudience[] = "kv";

// A gRPC client of one node that sends `token` (if any) with every call.
class Caller {
 public:
  Caller(const std::string& address, std::string token) : token_(std::move(token)) {
    auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    kv_ = kvstore::v1::KV::NewStub(channel);
    admin_ = kvstore::v1::Admin::NewStub(channel);
    replication_ = kvstore::v1::Replication::NewStub(channel);
  }
  void Prepare(grpc::ClientContext* ctx) const {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!token_.empty()) ctx->AddMetadata("authorization", "Bearer " + token_);
  }
  grpc::Status Get(const std::string& key, kvstore::v1::GetResponse* out = nullptr) const {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    kvstore::v1::GetRequest req;
    req.set_key(key);
    kvstore::v1::GetResponse ignored;
    return kv_->Get(&ctx, req, out != nullptr ? out : &ignored);
  }
  grpc::Status Put(const std::string& key, const std::string& value) const {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    kvstore::v1::PutRequest req;
    req.set_key(key);
    req.set_value(value);
    kvstore::v1::PutResponse resp;
    return kv_->Put(&ctx, req, &resp);
  }
  // Puts `puts` (key = value) if every key of `checked` is absent.
  grpc::Status Commit(const std::vector<std::pair<std::string, std::string>>& puts,
                      const std::vector<std::string>& checked = {}) const {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    kvstore::v1::CommitRequest req;
    for (const auto& key : checked) {
      auto* check = req.add_checks();
      check->set_key(key);
      check->set_absent(true);
    }
    for (const auto& [key, value] : puts) {
      auto* put = req.add_mutations()->mutable_put();
      put->set_key(key);
      put->set_value(value);
    }
    kvstore::v1::CommitResponse resp;
    return kv_->Commit(&ctx, req, &resp);
  }
  grpc::Status BatchGet(const std::vector<std::string>& keys) const {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    kvstore::v1::BatchGetRequest req;
    for (const auto& k : keys) req.add_keys(k);
    kvstore::v1::BatchGetResponse resp;
    return kv_->BatchGet(&ctx, req, &resp);
  }
  grpc::Status List(const std::string& prefix, kvstore::v1::ListResponse* out, int limit = 1000,
                    const std::string& cursor = "") const {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    kvstore::v1::ListRequest req;
    req.set_prefix(prefix);
    req.set_include_values(true);
    req.set_limit(limit);
    req.set_cursor(cursor);
    return kv_->List(&ctx, req, out);
  }
  grpc::Status Status(kvstore::v1::StatusResponse* out) const {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    return admin_->Status(&ctx, kvstore::v1::StatusRequest(), out);
  }
  grpc::Status SetKeySet(const std::string& jwks, kvstore::v1::SetKeySetResponse* out) const {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    kvstore::v1::SetKeySetRequest req;
    req.set_jwks(jwks);
    return admin_->SetKeySet(&ctx, req, out);
  }
  // Opens a Watch of `prefix` (or of `keys`) and reads its first message: OK when the watch was
  // admitted, else the refusal. With `events`, also collects the events that arrive within 1 s.
  grpc::Status WatchOnce(const std::string& prefix, const std::vector<std::string>& keys = {},
                         std::vector<kvstore::v1::WatchEvent>* events = nullptr,
                         uint64_t start_version = 0) const {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    kvstore::v1::WatchRequest req;
    req.set_prefix(prefix);
    for (const auto& k : keys) req.add_keys(k);
    req.set_start_version(start_version);
    auto stream = kv_->Watch(&ctx, req);
    kvstore::v1::WatchResponse first;
    if (!stream->Read(&first)) return stream->Finish();
    if (events != nullptr) {
      events->assign(first.events().begin(), first.events().end());
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    }
    ctx.TryCancel();
    stream->Finish();
    return grpc::Status::OK;
  }
  // The first answer of a Subscribe from the head, or the stream's status. `trailers` gets the
  // refusal's trailing metadata names.
  grpc::Status SubscribeOnce(std::vector<std::string>* trailers = nullptr) const {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    auto stream = replication_->Subscribe(&ctx);
    kvstore::v1::DownstreamMessage hello;
    hello.mutable_hello()->set_from_version(0);
    hello.mutable_hello()->set_node_id("intruder");
    stream->Write(hello);
    kvstore::v1::UpstreamMessage first;
    if (stream->Read(&first)) {
      ctx.TryCancel();
      stream->Finish();
      return grpc::Status::OK;
    }
    grpc::Status finished = stream->Finish();
    if (trailers != nullptr) {
      for (const auto& [name, value] : ctx.GetServerTrailingMetadata()) {
        trailers->emplace_back(name.data(), name.size());
      }
    }
    return finished;
  }
  grpc::Status SnapshotOnce() const {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    kvstore::v1::SnapshotRequest req;
    req.set_node_id("intruder");
    auto reader = replication_->Snapshot(&ctx, req);
    kvstore::v1::SnapshotChunk chunk;
    while (reader->Read(&chunk)) {
    }
    return reader->Finish();
  }

 private:
  const std::string token_;
  std::unique_ptr<kvstore::v1::KV::Stub> kv_;
  std::unique_ptr<kvstore::v1::Admin::Stub> admin_;
  std::unique_ptr<kvstore::v1::Replication::Stub> replication_;
};

using server::testing::HttpResult;

// One HTTP/1.1 GET with `headers`, answered and closed.
absl::StatusOr<HttpResult> HttpGet(const std::string& address, const std::string& target,
                                   std::vector<std::pair<std::string, std::string>> headers = {}) {
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port)) {
    return absl::InvalidArgumentError(address);
  }
  server::testing::TestHttpClient client(port);
  if (absl::Status s = client.Connect(); !s.ok()) return s;
  std::string request = absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  for (const auto& [name, value] : headers) absl::StrAppend(&request, name, ": ", value, "\r\n");
  absl::StrAppend(&request, "Connection: close\r\n\r\n");
  if (absl::Status s = client.SendRaw(request); !s.ok()) return s;
  return client.Read();
}

// The value of a Prometheus series with these exact labels (0 when absent).
double MetricValue(const std::string& http_address, const std::string& series) {
  auto scraped = HttpGet(http_address, "/metrics");
  if (!scraped.ok()) return -1;
  for (absl::string_view line : absl::StrSplit(scraped->body(), '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return 0;
}

// Sum of every kv_requests_total series of `method` at a node.
double RequestsOf(const std::string& http_address, const std::string& method) {
  auto scraped = HttpGet(http_address, "/metrics");
  if (!scraped.ok()) return -1;
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(scraped->body(), '\n')) {
    if (absl::StartsWith(line, "kv_requests_total{") &&
        absl::StrContains(line, absl::StrCat("method=\"", method, "\""))) {
      double v = 0;
      size_t space = line.rfind(' ');
      if (absl::SimpleAtod(line.substr(space + 1), &v)) sum += v;
    }
  }
  return sum;
}

class AuthTest : public ClusterFixture {
 protected:
  void SetUp() override {
    key_ = std::make_unique<Key>(NewKey(Alg::kES256, "k1"));
    other_ = std::make_unique<Key>(NewKey(Alg::kES256, "k1"));  // same kid, another key
    jwks_path_ = dir_.path() + "/jwks.json";
    WriteFile(jwks_path_, JwksOf({key_.get()}));
    admin_ = Token("admin read: write:");
  }

  static void WriteFile(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }

  // A token signed by `key` (default: the cluster's key) with these claims.
  std::string Token(const std::string& scope, const std::string& sub = "tester",
                    int64_t ttl_seconds = 3600, const Key* key = nullptr, std::string header = "",
                    std::string extra_claims = "") {
    const Key& k = key != nullptr ? *key : *key_;
    if (header.empty()) header = R"({"alg":"ES256","kid":"k1","typ":"JWT"})";
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    std::string payload = absl::StrCat(R"({"iss":")", kIssuer, R"(","aud":")", kAudience,
                                       R"(","sub":")", sub, R"(","scope":")", scope, R"(","iat":)",
                                       now, R"(,"exp":)", now + ttl_seconds, extra_claims, "}");
    return Forge(k, header, payload);
  }

  std::vector<std::string> AuthFlags() {
    return {"--auth", "required", "--auth-issuer", kIssuer, "--auth-audience", kAudience};
  }

  // A central node with --auth required, and edges presenting a replicate token.
  void StartCluster() {
    std::vector<std::string> flags = AuthFlags();
    flags.insert(flags.end(), {"--auth-jwks", jwks_path_, "--http", "127.0.0.1:0"});
    UseToken(admin_);  // the fixture's Status calls need the admin scope
    ASSERT_NE(StartCentral(flags), nullptr);
    const std::string token_file = dir_.path() + "/edge.token";
    WriteFile(token_file, Token("replicate", "edge"));
    for (const auto& [name, mode] :
         {std::pair<std::string, std::string>{"full", "full"}, {"cache", "cache"}}) {
      std::vector<std::string> edge_flags = AuthFlags();
      edge_flags.insert(edge_flags.end(),
                        {"--upstream-token-file", token_file, "--http", "127.0.0.1:0"});
      KvdProcess* edge = StartEdge(name, central_->address(), mode, edge_flags);
      (mode == "full" ? full_ : cache_) = edge;
    }
    ASSERT_TRUE(Caller(central_->address(), admin_).Put("users/alice", "a").ok());
    ASSERT_TRUE(Caller(central_->address(), admin_).Put("orders/1", "o").ok());
    ASSERT_TRUE(WaitApplied(full_, 3));
    ASSERT_TRUE(WaitApplied(cache_, 3));
    ASSERT_TRUE(WaitReady(full_));
    ASSERT_TRUE(WaitReady(cache_));
  }

  // The edge's refusals of `reason` so far.
  double Denied(KvdProcess* node, const std::string& reason) {
    return MetricValue(node->http_address(),
                       absl::StrCat("kv_auth_denied_total{reason=\"", reason, "\"}"));
  }

  std::unique_ptr<Key> key_, other_;
  std::string jwks_path_;
  std::string admin_;
  KvdProcess* full_ = nullptr;
  KvdProcess* cache_ = nullptr;
};

TEST_F(AuthTest, ACentralNodeRequiringTokensWithoutAKeySetRefusesToStart) {
  KvdProcess central("central-no-keys",
                     {"central", "--data-dir", dir_.path() + "/no-keys", "--auth", "required"},
                     dir_.path());
  absl::Status started = central.Start(absl::Seconds(10));
  EXPECT_FALSE(started.ok());
  EXPECT_TRUE(absl::StrContains(central.ReadLog(), "--auth-jwks")) << central.ReadLog();
}

TEST_F(AuthTest, ForgedAndInvalidTokensAreRefusedAtTheEdgeWithoutCostingTheCentre) {
  StartCluster();
  const double central_gets =
      RequestsOf(central_->http_address(), "Get") + RequestsOf(central_->http_address(), "Fetch");
  const std::string none_header = R"({"alg":"none","kid":"k1","typ":"JWT"})";
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  struct Case {
    std::string name;
    std::string token;  // "" = no authorization at all
    std::string reason;
  };
  std::string hs_confusion;
  {
    // HS256 keyed with the cluster's public key (PEM), the classic key confusion.
    std::string input =
        auth::testing::SigningInput(R"({"alg":"HS256","kid":"k1","typ":"JWT"})",
                                    absl::StrCat(R"({"iss":")", kIssuer, R"(","aud":")", kAudience,
                                                 R"(","scope":"read:","exp":)", now + 3600, "}"));
    hs_confusion = absl::StrCat(
        input, ".",
        auth::Base64UrlEncode(auth::testing::HmacSha256(auth::testing::PublicPem(*key_), input)));
  }
  std::string alg_none =
      auth::testing::SigningInput(none_header,
                                  absl::StrCat(R"({"iss":")", kIssuer, R"(","aud":")", kAudience,
                                               R"(","scope":"read:","exp":)", now + 3600, "}")) +
      ".";
  std::vector<Case> cases = {
      {"no token", "", "missing"},
      {"junk", "not-a-token", "malformed"},
      {"bad signature", Token("read:", "x", 3600, other_.get()), "bad_signature"},
      {"alg none", alg_none, "alg_not_allowed"},
      {"HS256 with the public key", hs_confusion, "alg_not_allowed"},
      {"expired", Token("read:", "x", -120), "expired"},
      {"not yet valid",
       Token("read:", "x", 3600, nullptr, "", absl::StrCat(",\"nbf\":", now + 600)),
       "not_yet_valid"},
      {"unknown kid", Token("read:", "x", 3600, nullptr, R"({"alg":"ES256","kid":"k9"})"),
       "unknown_kid"},
  };
  for (KvdProcess* edge : {full_, cache_}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(absl::StrCat(edge->name(), ": ", c.name));
      const double before = Denied(edge, c.reason);
      grpc::Status s = Caller(edge->address(), c.token).Get("users/alice");
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
      EXPECT_TRUE(absl::StrContains(s.error_message(), c.reason)) << s.error_message();
      if (!c.token.empty()) {
        EXPECT_FALSE(absl::StrContains(s.error_message(), c.token)) << "the message echoes it";
      }
      EXPECT_EQ(Denied(edge, c.reason), before + 1);
      grpc::Status w = Caller(edge->address(), c.token).Put("users/mallory", "x");
      EXPECT_EQ(w.error_code(), grpc::StatusCode::UNAUTHENTICATED) << w.error_message();
    }
  }
  // Wrong issuer and audience: a verifier with them configured refuses a token without.
  {
    std::string payload = absl::StrCat(R"({"iss":"https://evil","aud":")", kAudience,
                                       R"(","scope":"read:","exp":)", now + 3600, "}");
    grpc::Status s =
        Caller(full_->address(), Forge(*key_, R"({"alg":"ES256","kid":"k1"})", payload))
            .Get("users/alice");
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_TRUE(absl::StrContains(s.error_message(), "wrong_issuer")) << s.error_message();
    payload = absl::StrCat(R"({"iss":")", kIssuer, R"(","aud":"other","scope":"read:","exp":)",
                           now + 3600, "}");
    s = Caller(full_->address(), Forge(*key_, R"({"alg":"ES256","kid":"k1"})", payload))
            .Get("users/alice");
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_TRUE(absl::StrContains(s.error_message(), "wrong_audience")) << s.error_message();
  }
  // Nothing reached the centre, nothing was written, and the edges still serve.
  EXPECT_EQ(
      RequestsOf(central_->http_address(), "Get") + RequestsOf(central_->http_address(), "Fetch"),
      central_gets);
  EXPECT_EQ(RequestsOf(central_->http_address(), "Put"), 2);
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(Caller(central_->address(), admin_).Get("users/mallory", &got).ok());
  EXPECT_FALSE(got.found());
  for (KvdProcess* edge : {full_, cache_}) {
    grpc::Status ok = Caller(edge->address(), Token("read:users/")).Get("users/alice", &got);
    EXPECT_TRUE(ok.ok()) << ok.error_message();
    EXPECT_EQ(got.entry().value(), "a");
  }
}

TEST_F(AuthTest, HttpAnswers401WithABearerChallengeAnd403ForAMissingScope) {
  StartCluster();
  auto anonymous = HttpGet(full_->http_address(), "/v1/kv/users%2Falice");
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ(anonymous->result_int(), 401);
  EXPECT_EQ(std::string((*anonymous)["WWW-Authenticate"]), "Bearer");
  auto forged = HttpGet(full_->http_address(), "/v1/kv/users%2Falice",
                        {{"Authorization", "Bearer " + Token("read:", "x", 3600, other_.get())}});
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(forged->result_int(), 401);
  EXPECT_TRUE(absl::StrContains(std::string((*forged)["WWW-Authenticate"]), "invalid_token"));
  auto twice = HttpGet(full_->http_address(), "/v1/kv/users%2Falice",
                       {{"Authorization", "Bearer " + Token("read:")},
                        {"Authorization", "Bearer " + Token("read:")}});
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->result_int(), 401);
  auto outside = HttpGet(cache_->http_address(), "/v1/kv/orders%2F1",
                         {{"Authorization", "Bearer " + Token("read:users/")}});
  ASSERT_TRUE(outside.ok());
  EXPECT_EQ(outside->result_int(), 403);
  EXPECT_TRUE(absl::StrContains(outside->body(), "missing scope read:orders/1"));
  EXPECT_FALSE(absl::StrContains(outside->body(), "\"o\""));
  auto allowed = HttpGet(cache_->http_address(), "/v1/kv/users%2Falice",
                         {{"Authorization", "Bearer " + Token("read:users/")}});
  ASSERT_TRUE(allowed.ok());
  EXPECT_EQ(allowed->result_int(), 200);
  EXPECT_EQ(allowed->body(), "a");
  // Probes need no token.
  auto ready = HttpGet(cache_->http_address(), "/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->result_int(), 200);
}

TEST_F(AuthTest, ScopesLimitEveryCallToItsPrefixAndTheReservedNamespaceToAdmins) {
  StartCluster();
  const std::string reader = Token("read:users/");
  for (KvdProcess* edge : {full_, cache_}) {
    SCOPED_TRACE(edge->name());
    Caller c(edge->address(), reader);
    const double central_puts = RequestsOf(central_->http_address(), "Put");
    // A read token writing: refused at the edge, no call upstream.
    grpc::Status w = c.Put("users/alice", "overwritten");
    EXPECT_EQ(w.error_code(), grpc::StatusCode::PERMISSION_DENIED) << w.error_message();
    EXPECT_TRUE(absl::StrContains(w.error_message(), "missing scope write:users/alice"));
    EXPECT_EQ(RequestsOf(central_->http_address(), "Put"), central_puts);
    // Outside the prefix: Get, BatchGet with one key outside, List of a wider prefix.
    EXPECT_EQ(c.Get("orders/1").error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(c.BatchGet({"users/alice", "orders/1"}).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    kvstore::v1::ListResponse listed;
    EXPECT_EQ(c.List("", &listed).error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(c.List("user", &listed).error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_TRUE(c.BatchGet({"users/alice", "users/bob"}).ok());
    // The cluster's key set is not readable with read:, nor writable with write:.
    Caller everything(edge->address(), Token("read: write:"));
    grpc::Status r = everything.Get(std::string(kKeySetKey));
    EXPECT_EQ(r.error_code(), grpc::StatusCode::PERMISSION_DENIED) << r.error_message();
    grpc::Status p = everything.Put(std::string(kKeySetKey), "{\"keys\":[]}");
    EXPECT_EQ(p.error_code(), grpc::StatusCode::PERMISSION_DENIED) << p.error_message();
    EXPECT_EQ(everything.Put("__kv/other", "x").error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(everything.List("__kv/", &listed).error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(everything.Status(nullptr).error_code(), grpc::StatusCode::PERMISSION_DENIED);
    // Listing everything with read: hides the reserved namespace.
    if (edge == full_) {
      listed.Clear();
      ASSERT_TRUE(everything.List("", &listed).ok());
      ASSERT_GE(listed.entries_size(), 2);
      for (const auto& e : listed.entries()) EXPECT_FALSE(IsReservedKey(e.key())) << e.key();
      // One key per page: the page that held only the key set is empty, and its cursor does
      // not name the reserved key (it moves past the namespace), and paging goes on.
      std::string cursor;
      std::vector<std::string> seen;
      for (int page = 0; page < 10; ++page) {
        listed.Clear();
        ASSERT_TRUE(everything.List("", &listed, 1, cursor).ok());
        for (const auto& e : listed.entries()) seen.push_back(e.key());
        EXPECT_FALSE(absl::StrContains(listed.next_cursor(), "auth")) << listed.next_cursor();
        cursor = listed.next_cursor();
        if (cursor.empty()) break;
      }
      EXPECT_EQ(seen, (std::vector<std::string>{"orders/1", "users/alice"}));
    }
  }
  // An admin reads the key set (it is what every node checks with).
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(Caller(full_->address(), admin_).Get(std::string(kKeySetKey), &got).ok());
  EXPECT_TRUE(absl::StrContains(got.entry().value(), "\"k1\""));
  // Still serving, nothing written.
  ASSERT_TRUE(Caller(central_->address(), admin_).Get("users/alice", &got).ok());
  EXPECT_EQ(got.entry().value(), "a");
}

// A commit needs write: for every key it mutates and read: for every key it checks; a token
// lacking one is refused whole (PERMISSION_DENIED naming the scope), at the edge and at the
// central node alike, and nothing of the commit is applied.
TEST_F(AuthTest, ACommitNeedsWriteForEveryMutatedKeyAndReadForEveryCheckedKey) {
  StartCluster();
  const uint64_t head = central_->Status()->head_version();
  const std::string writer = Token("write:users/");
  for (KvdProcess* node : {full_, cache_, central_.get()}) {
    SCOPED_TRACE(node->name());
    // One mutated key outside the write scope.
    grpc::Status s =
        Caller(node->address(), writer).Commit({{"users/carol", "c"}, {"orders/9", "o"}});
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "missing scope write:orders/9"))
        << s.error_message();
    // Every key writable, but a checked key without read:.
    s = Caller(node->address(), writer).Commit({{"users/carol", "c"}}, {"users/dave"});
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "missing scope read:users/dave"))
        << s.error_message();
    // A read-only token mutating.
    s = Caller(node->address(), Token("read:")).Commit({{"users/carol", "c"}});
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "missing scope write:users/carol"));
    // The reserved namespace, even with every scope but admin.
    s = Caller(node->address(), Token("read: write:"))
            .Commit({{"users/carol", "c"}, {std::string(kKeySetKey), "{}"}});
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  }
  EXPECT_EQ(central_->Status()->head_version(), head);  // nothing was applied
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(Caller(central_->address(), admin_).Get("users/carol", &got).ok());
  EXPECT_FALSE(got.found());
  // With both scopes it goes through, from an edge.
  EXPECT_TRUE(Caller(full_->address(), Token("read:users/ write:users/"))
                  .Commit({{"users/carol", "c"}}, {"users/dave"})
                  .ok());
  EXPECT_EQ(central_->Status()->head_version(), head + 1);
}

TEST_F(AuthTest, WatchNeedsTheReadScopeOfTheWholePrefixOrOfEveryKey) {
  StartCluster();
  const std::string users = Token("read:users/");
  for (KvdProcess* node : {central_.get(), full_, cache_}) {
    SCOPED_TRACE(node->name());
    // No token, a token for another prefix, a prefix wider than the grant, one key outside it.
    EXPECT_EQ(Caller(node->address(), "").WatchOnce("users/").error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    grpc::Status other = Caller(node->address(), Token("read:orders/")).WatchOnce("users/");
    EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_NE(other.error_message().find("read:users/"), std::string::npos)
        << other.error_message();
    EXPECT_EQ(Caller(node->address(), users).WatchOnce("").error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(Caller(node->address(), users).WatchOnce("", {"users/a", "orders/1"}).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    // The reserved namespace needs admin, even with read: of everything.
    EXPECT_EQ(Caller(node->address(), Token("read:")).WatchOnce("__kv/").error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_TRUE(Caller(node->address(), users).WatchOnce("users/").ok());
    EXPECT_TRUE(Caller(node->address(), users).WatchOnce("", {"users/a", "users/b"}).ok());
  }
  // A watch of everything without admin never carries the key set (cluster data).
  std::vector<kvstore::v1::WatchEvent> events;
  ASSERT_TRUE(Caller(central_->address(), Token("read:")).WatchOnce("", {}, &events, 1).ok());
  for (const auto& e : events) EXPECT_NE(e.key(), std::string(kKeySetKey));
}

TEST_F(AuthTest, ReplicationNeedsTheReplicateScopeAndShowsWhoSubscribed) {
  StartCluster();
  for (KvdProcess* upstream : {central_.get(), full_}) {
    SCOPED_TRACE(upstream->name());
    std::vector<std::string> trailers;
    grpc::Status s = Caller(upstream->address(), "").SubscribeOnce(&trailers);
    // A stranger learns nothing about the topology (the chain is for peers' loop checks).
    for (const auto& name : trailers) EXPECT_NE(name, "kv-chain");
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    s = Caller(upstream->address(), "").SnapshotOnce();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    s = Caller(upstream->address(), Token("read: write: admin")).SubscribeOnce();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    s = Caller(upstream->address(), Token("read: write: admin")).SnapshotOnce();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_TRUE(Caller(upstream->address(), Token("replicate", "peer")).SnapshotOnce().ok());
  }
  kvstore::v1::StatusResponse status;
  ASSERT_TRUE(Caller(central_->address(), admin_).Status(&status).ok());
  ASSERT_EQ(status.downstreams_size(), 2);
  for (const auto& d : status.downstreams()) EXPECT_EQ(d.identity(), "token:edge");
  // A cache edge is no upstream at all.
  grpc::Status s = Caller(cache_->address(), Token("replicate")).SubscribeOnce();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

TEST_F(AuthTest, ARemovedKeyIsRefusedAtEveryEdgeWithinTheBoundAndTheNewOneWorks) {
  StartCluster();
  const std::string old_token = Token("read:users/");
  for (KvdProcess* edge : {full_, cache_}) {
    ASSERT_TRUE(Caller(edge->address(), old_token).Get("users/alice").ok());
  }
  Key next = NewKey(Alg::kEdDSA, "k2");
  // Only an admin may replace the key set, and only with a usable one.
  kvstore::v1::SetKeySetResponse set;
  EXPECT_EQ(Caller(central_->address(), old_token).SetKeySet(JwksOf({&next}), &set).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Caller(central_->address(), admin_).SetKeySet("{\"keys\":[{}]}", &set).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Caller(full_->address(), admin_).SetKeySet(JwksOf({&next}), &set).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  grpc::Status replaced = Caller(central_->address(), admin_).SetKeySet(JwksOf({&next}), &set);
  ASSERT_TRUE(replaced.ok()) << replaced.error_message();
  ASSERT_EQ(set.kids_size(), 1);
  EXPECT_EQ(set.kids(0), "k2");
  const std::string new_token =
      Token("read:users/", "x", 3600, &next, R"({"alg":"EdDSA","kid":"k2"})");
  const absl::Time deadline = absl::Now() + absl::Seconds(5) + absl::Seconds(1);  // the bound
  for (KvdProcess* edge : {full_, cache_}) {
    SCOPED_TRACE(edge->name());
    EXPECT_TRUE(WaitFor(
        [&] {
          return Caller(edge->address(), old_token).Get("users/alice").error_code() ==
                 grpc::StatusCode::UNAUTHENTICATED;
        },
        deadline - absl::Now()))
        << "the old key still works";
    grpc::Status s = Caller(edge->address(), new_token).Get("users/alice");
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  // A cache edge keeps the key set it received: restarted while the centre is down, it still
  // checks tokens (and serves its hot keys).
  central_->Stop();
  cache_->Stop();
  ASSERT_TRUE(cache_->Start().ok());
  EXPECT_EQ(Caller(cache_->address(), old_token).Get("users/alice").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status hot = Caller(cache_->address(), new_token).Get("users/alice");
  // Its staleness grows past the bound without the centre: UNAVAILABLE then, never a pass.
  EXPECT_TRUE(hot.ok() || hot.error_code() == grpc::StatusCode::UNAVAILABLE) << hot.error_message();
}

TEST_F(AuthTest, AnEdgeWithoutAKeySetRefusesEveryCallAndIsNotReady) {
  std::vector<std::string> flags = AuthFlags();
  flags.insert(flags.end(), {"--auth-jwks", jwks_path_});
  StartCentral(flags);
  // Its upstream token is signed by a key the cluster does not know: no stream, no key set.
  const std::string token_file = dir_.path() + "/bad.token";
  WriteFile(token_file, Token("replicate", "edge", 3600, other_.get()));
  std::vector<std::string> edge_flags = AuthFlags();
  edge_flags.insert(edge_flags.end(),
                    {"--upstream-token-file", token_file, "--http", "127.0.0.1:0"});
  KvdProcess* edge = StartEdge("lonely", central_->address(), "cache", edge_flags);
  ASSERT_NE(edge, nullptr);
  grpc::Status s = Caller(edge->address(), Token("read:")).Get("users/alice");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "key set")) << s.error_message();
  auto ready = HttpGet(edge->http_address(), "/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->result_int(), 503);
  EXPECT_TRUE(absl::StrContains(ready->body(), "key set")) << ready->body();
  // A good token file fixes it without a restart.
  WriteFile(token_file, Token("replicate", "edge"));
  EXPECT_TRUE(
      WaitFor([&] { return Caller(edge->address(), Token("read:")).Get("users/alice").ok(); },
              absl::Seconds(20)));
}

TEST_F(AuthTest, TheCentralNodeChecksForwardedWritesAgain) {
  std::vector<std::string> flags = AuthFlags();
  flags.insert(flags.end(), {"--auth-jwks", jwks_path_, "--http", "127.0.0.1:0"});
  StartCentral(flags);
  // A misconfigured edge that checks nothing still cannot write for anyone: the centre checks
  // the credentials the edge forwards.
  const std::string token_file = dir_.path() + "/edge.token";
  WriteFile(token_file, Token("replicate", "edge"));
  KvdProcess* open_edge =
      StartEdge("open", central_->address(), "full", {"--upstream-token-file", token_file});
  ASSERT_NE(open_edge, nullptr);
  grpc::Status anonymous = Caller(open_edge->address(), "").Put("users/eve", "x");
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED) << anonymous.error_message();
  grpc::Status read_only = Caller(open_edge->address(), Token("read:")).Put("users/eve", "x");
  EXPECT_EQ(read_only.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << read_only.error_message();
  grpc::Status writer = Caller(open_edge->address(), Token("write:users/")).Put("users/eve", "x");
  EXPECT_TRUE(writer.ok()) << writer.error_message();
  kvstore::v1::GetResponse got;
  ASSERT_TRUE(Caller(central_->address(), admin_).Get("users/eve", &got).ok());
  EXPECT_EQ(got.entry().value(), "x");
}

TEST_F(AuthTest, ARepeatedTokenIsVerifiedOnceAndThenRemembered) {
  StartCluster();
  Caller c(full_->address(), Token("read:users/"));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c.Get("users/alice").ok());
  kvstore::v1::StatusResponse status;
  ASSERT_TRUE(Caller(full_->address(), admin_).Status(&status).ok());
  EXPECT_EQ(status.auth().mode(), "required");
  EXPECT_TRUE(status.auth().key_set_loaded());
  EXPECT_GE(status.auth().cache_hits(), 19u);
  ASSERT_EQ(status.auth().kids_size(), 1);
  EXPECT_EQ(status.auth().kids(0), "k1");
}

// A LocalReplica holds what its stream sends, so its token needs `replicate` as an edge's does;
// without it the replica never syncs and says why. Writes through it need `write:` as any call.
TEST_F(AuthTest, ALocalReplicaNeedsTheReplicateScope) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  auto replica_with = [&](const std::string& scope) {
    client::LocalReplicaOptions options;
    options.upstream = central_->address();
    options.bearer_token = Token(scope, "app");
    options.timeout = absl::Seconds(2);
    auto r = client::LocalReplica::Create(options);
    EXPECT_TRUE(r.ok()) << r.status();
    return std::move(*r);
  };
  auto reader = replica_with("read:");
  absl::Status ready = reader->WaitUntilReady(absl::Seconds(3));
  EXPECT_EQ(ready.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StrContains(reader->Status().last_error, "replicate"))
      << reader->Status().last_error;
  EXPECT_EQ(reader->Status().keys, 0u) << "nothing of the dataset reached it";

  auto replica = replica_with("replicate read:");
  ASSERT_TRUE(replica->WaitUntilReady(absl::Seconds(20)).ok());
  auto got = replica->Get("users/alice");
  ASSERT_TRUE(got.ok() && got->found) << got.status();
  EXPECT_EQ(got->info.source, client::Source::kLocalReplica);
  auto put = replica->Put("users/bob", "b");
  EXPECT_EQ(put.status().code(), absl::StatusCode::kPermissionDenied) << put.status();
}

}  // namespace
}  // namespace kv::testing

// The Redis protocol on real kvd processes (central, full edge, cache edge), driven by the real
// redis-cli (Debian package redis-tools) and Python's redis client (python3-redis), plus raw
// sockets for what no client does: half commands, hostile lengths, 10,000 connections.
// A test whose tool is missing is skipped with a message saying which package to install.

#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "auth/testing/test_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/http/raw_test_socket.h"
#include "server/resp/resp_test_client.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kvd_process.h"

namespace kv::testing {
namespace {

using ::kv::server::resp::testing::RespTestClient;
using ::kv::server::resp::testing::RespValue;
using ::kv::server::testing::RawSocket;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Ran {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` through the shell; its output and exit code.
Ran Shell(const std::string& command) {
  Ran ran;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return ran;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) ran.output.append(buf, n);
  const int status = pclose(pipe);
  ran.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return ran;
}

bool HaveRedisCli() { return Shell("redis-cli --version").exit_code == 0; }
// A Python with the redis module: Debian's first (python3-redis installs there), then PATH's.
std::string PythonWithRedis() {
  for (const char* python : {"/usr/bin/python3", "python3"}) {
    if (Shell(absl::StrCat(python, " -c 'import redis'")).exit_code == 0) return python;
  }
  return "";
}

class RespTest : public ClusterFixture {
 protected:
  // The RESP port of `node`, from its ready file.
  int RespPort(KvdProcess* node) {
    std::ifstream in(dir_.path() + "/" + node->name() + ".ready");
    nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("resp")) {
      ADD_FAILURE() << node->name() << " has no resp address in its ready file";
      return 0;
    }
    const std::string address = j["resp"].get<std::string>();
    int port = 0;
    EXPECT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port)) << address;
    return port;
  }

  // Central, a full edge and a cache edge, each serving RESP on a free port; edges ready.
  void StartCluster(std::vector<std::string> edge_flags = {}) {
    central_node_ = StartCentral({"--resp", "127.0.0.1:0"});
    std::vector<std::string> flags = {"--resp", "127.0.0.1:0"};
    flags.insert(flags.end(), edge_flags.begin(), edge_flags.end());
    full_ = StartEdge("edge-full", central_node_->address(), "full", flags);
    cache_ = StartEdge("edge-cache", central_node_->address(), "cache", flags);
    ASSERT_TRUE(WaitReady(full_));
    ASSERT_TRUE(WaitReady(cache_));
  }

  RespTestClient Client(KvdProcess* node) {
    absl::StatusOr<RespTestClient> c = RespTestClient::Connect(RespPort(node));
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }

  std::string Cli(KvdProcess* node, const std::string& args) {
    Ran ran = Shell(absl::StrCat("redis-cli -h 127.0.0.1 -p ", RespPort(node), " ", args));
    EXPECT_EQ(ran.exit_code, 0) << ran.output;
    return ran.output;
  }

  // Runs a Python program with the redis module; `ports` are passed as arguments.
  Ran Python(const std::string& program, const std::vector<int>& ports) {
    const std::string path = dir_.path() + "/test.py";
    std::ofstream(path) << program;
    std::vector<std::string> args;
    for (int p : ports) args.push_back(absl::StrCat(p));
    return Shell(absl::StrCat(PythonWithRedis(), " ", path, " ", absl::StrJoin(args, " ")));
  }

  KvdProcess* central_node_ = nullptr;
  KvdProcess* full_ = nullptr;
  KvdProcess* cache_ = nullptr;
};

TEST_F(RespTest, RedisCliOnEveryRole) {
  if (!HaveRedisCli()) GTEST_SKIP() << "redis-cli not installed (apt-get install redis-tools)";
  StartCluster();
  EXPECT_EQ(Cli(central_node_, "PING"), "PONG\n");
  EXPECT_EQ(Cli(central_node_, "SET greeting 'hello world'"), "OK\n");
  EXPECT_EQ(Cli(full_, "SET written-at-edge 42 EX 100"), "OK\n");  // forwarded to central
  const uint64_t head = central_node_->Status()->head_version();
  ASSERT_TRUE(WaitApplied(full_, head));
  ASSERT_TRUE(WaitApplied(cache_, head));
  for (KvdProcess* node : {central_node_, full_, cache_}) {
    EXPECT_EQ(Cli(node, "GET greeting"), "hello world\n") << node->name();
    EXPECT_EQ(Cli(node, "MGET greeting nope written-at-edge"), "hello world\n\n42\n")
        << node->name();
    EXPECT_EQ(Cli(node, "EXISTS greeting nope"), "1\n");
    EXPECT_EQ(Cli(node, "TTL greeting"), "-1\n");
    EXPECT_THAT(Cli(node, "TTL written-at-edge"), ::testing::MatchesRegex("(9[0-9]|100)\n"));
    EXPECT_EQ(Cli(node, "SELECT 0"), "OK\n");
    EXPECT_EQ(Cli(node, "COMMAND COUNT"), "22\n");
    EXPECT_THAT(Cli(node, "FOO bar"), StartsWith("ERR unknown command 'FOO'"));
  }
  EXPECT_THAT(Cli(central_node_, "INFO replication"), HasSubstr("role:master"));
  const std::string info = Cli(full_, "INFO replication");
  EXPECT_THAT(info, HasSubstr("role:slave"));
  EXPECT_THAT(info, HasSubstr("kv_mode:full"));
  EXPECT_THAT(
      info, HasSubstr(absl::StrCat("master_port:", central_node_->address().substr(
                                                       central_node_->address().rfind(':') + 1))));
  EXPECT_THAT(Cli(cache_, "INFO"), HasSubstr("kv_mode:cache"));
  // Commands from stdin, RESP3, and SCAN by prefix through redis-cli.
  Ran piped = Shell(absl::StrCat("printf 'HELLO 3\\nGET greeting\\nGET nope\\n' | redis-cli -p ",
                                 RespPort(full_)));
  EXPECT_THAT(piped.output, HasSubstr("hello world\n"));
  EXPECT_EQ(Cli(full_, "DEL greeting nope"), "1\n");
  EXPECT_EQ(Cli(full_, "GET greeting"), "\n");  // read-your-writes on this connection
  EXPECT_THAT(Cli(full_, "SCAN 0 MATCH 'a?c'"), HasSubstr("only prefix patterns"));
}

TEST_F(RespTest, PythonClientBinarySafePipelinesAndScan) {
  if (PythonWithRedis().empty()) {
    GTEST_SKIP() << "python3 redis not installed (apt-get install python3-redis)";
  }
  StartCluster();
  const std::string program = R"PY(
import os, sys, redis
central, full, cache = (redis.Redis(host='127.0.0.1', port=int(p)) for p in sys.argv[1:4])

# Binary-safe keys and values, written at an edge (forwarded to central), read back there.
key = b'bin\x00\r\n\xff key'
value = bytes(range(256)) * 40 + b'\r\n$5\r\n*2\r\n'
assert full.set(key, value) is True
assert full.get(key) == value, 'read-your-writes at the full edge'
assert central.get(key) == value
assert cache.get(key) == value, 'cold read through the cache edge'

# A pipeline of 1,000 commands answered in order.
p = full.pipeline(transaction=False)
for i in range(500):
    p.set(b'pipe:%d' % i, b'v%d' % i)
    p.get(b'pipe:%d' % i)
out = p.execute()
assert len(out) == 1000
for i in range(500):
    assert out[2 * i] is True, out[2 * i]
    assert out[2 * i + 1] == b'v%d' % i, (i, out[2 * i + 1])

# Conditional writes and GET, TTL.
assert full.set('cond', 'a', nx=True) is True
assert full.set('cond', 'b', nx=True) is None
assert full.set('missing', 'x', xx=True) is None
assert full.set('cond', 'c', xx=True) is True
assert full.set('cond', 'd', get=True) == b'c'
assert full.set('ttl', 'x', ex=100) is True
t = full.ttl('ttl')
assert 95 <= t <= 100, t
assert full.pttl('ttl') > 95000
assert full.exists('cond', 'ttl', 'nope') == 2
assert full.delete('ttl', 'nope') == 1
last = full.execute_command('KV.LASTVERSION')
assert last > 0, last

# SCAN by prefix across pages, MGET across chunks.
keys = set(k for k in full.scan_iter(match='pipe:*', count=100))
assert keys == set(b'pipe:%d' % i for i in range(500)), len(keys)
got = full.mget([b'pipe:%d' % i for i in range(500)])
assert got == [b'v%d' % i for i in range(500)]

# MGET at the cache edge: cold keys read through, then cached ones, hits and misses mixed,
# binary-safe; in one batch and across chunks.
cold = [b'pipe:%d' % i for i in range(0, 500, 7)] + [key, b'nope\x00']
want = [b'v%d' % i for i in range(0, 500, 7)] + [value, None]
assert cache.mget(cold) == want
assert cache.mget(cold) == want, 'cached'
mixed = [b'pipe:%d' % i for i in range(0, 20)] + [key, b'nope']
assert cache.mget(mixed) == [b'v%d' % i for i in range(20)] + [value, None]
assert cache.exists(*mixed) == 21
assert cache.mget([b'pipe:%d' % i for i in range(500)]) == [b'v%d' % i for i in range(500)]
try:
    full.scan(0, match='p?pe*')
    raise SystemExit('a glob pattern was accepted')
except redis.ResponseError as e:
    assert 'only prefix patterns' in str(e), e
assert full.dbsize() > 0
assert full.info('replication')['role'] == 'slave'
assert central.info('replication')['role'] == 'master'
assert full.client_getname() is None
full.client_setname('tester')
assert full.client_getname() == 'tester'  # redis-py decodes this one
try:
    full.execute_command('HSET', 'h', 'f', 'v')
    raise SystemExit('HSET was accepted')
except redis.ResponseError as e:
    assert "unknown command 'HSET'" in str(e), e
print('ok')
)PY";
  Ran ran = Python(program, {RespPort(central_node_), RespPort(full_), RespPort(cache_)});
  EXPECT_EQ(ran.exit_code, 0) << ran.output;
  EXPECT_EQ(ran.output, "ok\n");
}

TEST_F(RespTest, HalfACommandThenDisconnectWritesNothing) {
  StartCluster();
  for (KvdProcess* node : {central_node_, full_}) {
    absl::StatusOr<RawSocket> s = RawSocket::Connect(RespPort(node));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s->SendAll("*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100\r\nonly-some-of-it").ok());
    s->Close();
  }
  RespTestClient c = Client(central_node_);
  EXPECT_EQ(c.CallText({"PING"}), "PONG");
  EXPECT_EQ(c.CallText({"GET", "half"}), "(nil)");
  EXPECT_EQ(Client(full_).CallText({"GET", "half"}), "(nil)");
}

TEST_F(RespTest, HugeLengthsAreRefusedWithoutHarm) {
  StartCluster();
  for (KvdProcess* node : {central_node_, full_, cache_}) {
    for (const char* hostile : {"*2147483647\r\n", "*2\r\n$3\r\nGET\r\n$999999999999\r\n",
                                "*1000002\r\n", "*1\r\n$-5\r\n"}) {
      RespTestClient c = Client(node);
      ASSERT_TRUE(c.SendRaw(hostile).ok());
      absl::StatusOr<RespValue> v = c.Read();
      ASSERT_TRUE(v.ok()) << node->name() << " " << hostile << ": " << v.status();
      EXPECT_THAT(v->str, StartsWith("ERR Protocol error")) << hostile;
      EXPECT_TRUE(c.WaitClosed()) << hostile;
    }
    // A value over --max-value-bytes claimed in full is refused before it is sent.
    RespTestClient c = Client(node);
    ASSERT_TRUE(
        c.SendRaw(absl::StrCat("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$", (25 << 20) + 65537, "\r\n"))
            .ok());
    EXPECT_THAT(c.Read()->str, HasSubstr("invalid bulk length"));
    EXPECT_EQ(Client(node).CallText({"PING"}), "PONG") << node->name();
  }
}

TEST_F(RespTest, TenThousandConnections) {
  // kvd inherits this process's descriptor limit: raise it before the nodes start.
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  constexpr rlim_t kWanted = 10'000 + 1'024;
  if (limit.rlim_cur < kWanted) {
    if (limit.rlim_max < kWanted) {
      GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << limit.rlim_max << " is below " << kWanted
                   << ": cannot open 10,000 connections";
    }
    limit.rlim_cur = kWanted;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  central_node_ = StartCentral({"--resp", "127.0.0.1:0"});
  const int port = RespPort(central_node_);
  std::vector<RawSocket> sockets;
  sockets.reserve(10'000);
  const absl::Time start = absl::Now();
  for (int i = 0; i < 10'000; ++i) {
    absl::StatusOr<RawSocket> s = RawSocket::Connect(port);
    ASSERT_TRUE(s.ok()) << "connection " << i << ": " << s.status();
    ASSERT_TRUE(s->SendAll("PING\r\n").ok());
    sockets.push_back(std::move(*s));
  }
  for (int i = 0; i < 10'000; ++i) {
    bool closed = false;
    absl::StatusOr<std::string> reply = sockets[i].ReadSome(64, absl::Seconds(30), &closed);
    ASSERT_TRUE(reply.ok() && !closed) << "connection " << i << ": " << reply.status();
    ASSERT_EQ(*reply, "+PONG\r\n") << "connection " << i;
  }
  const absl::Duration took = absl::Now() - start;
  // The 10,001st is refused, Redis's way.
  RespTestClient extra = Client(central_node_);
  EXPECT_EQ(extra.Read()->ToString(), "(error) ERR max number of clients reached");
  EXPECT_TRUE(extra.WaitClosed());
  sockets.pop_back();
  // Once the server has seen that close, a new connection is admitted.
  std::optional<RespTestClient> admitted;
  ASSERT_TRUE(WaitFor([&] {
    absl::StatusOr<RespTestClient> c = RespTestClient::Connect(port);
    if (!c.ok() || c->CallText({"PING"}) != "PONG") return false;
    admitted.emplace(std::move(*c));
    return true;
  }));
  RespTestClient& info = *admitted;
  absl::StatusOr<RespValue> clients;
  EXPECT_TRUE(WaitFor([&] {
    clients = info.Call({"INFO", "clients"});
    return clients.ok() && absl::StrContains(clients->str, "connected_clients:10000\r\n");
  })) << (clients.ok() ? clients->str : clients.status().ToString());
  sockets.clear();
  EXPECT_TRUE(WaitFor([&] {
    clients = info.Call({"INFO", "clients"});
    return clients.ok() && absl::StrContains(clients->str, "connected_clients:1\r\n");
  }));
  std::cerr << "10,000 connections opened and answered in " << took << "\n";
}

TEST_F(RespTest, StaleEdgeSaysSoUnlessStaleAnswersAreAllowed) {
  StartCluster({"--max-staleness", "500ms"});
  RespTestClient writer = Client(central_node_);
  ASSERT_EQ(writer.CallText({"SET", "k", "v1"}), "OK");
  ASSERT_TRUE(WaitApplied(full_, central_node_->Status()->head_version()));
  RespTestClient reader = Client(full_);
  ASSERT_EQ(reader.CallText({"GET", "k"}), "\"v1\"");
  central_node_->Kill();
  // Past the bound the edge forwards, its upstream is gone: the read fails and says why.
  std::string answer;
  EXPECT_TRUE(WaitFor(
      [&] {
        answer = reader.CallText({"GET", "k"});
        return absl::StartsWith(answer, "(error) STALE");
      },
      absl::Seconds(20), absl::Milliseconds(100)))
      << answer;
  EXPECT_THAT(answer, HasSubstr("edge edge-full is "));
  EXPECT_THAT(answer, HasSubstr("stale (bound 500.0ms)"));
  EXPECT_THAT(answer, HasSubstr("is unreachable"));
  EXPECT_THAT(answer, HasSubstr("KV.ALLOWSTALE on"));
  EXPECT_THAT(reader.CallText({"INFO", "replication"}), HasSubstr("kv_stale:1"));
  ASSERT_EQ(reader.CallText({"KV.ALLOWSTALE", "on"}), "OK");
  EXPECT_EQ(reader.CallText({"GET", "k"}), "\"v1\"");
  const RespValue last = *reader.Call({"KV.LASTREAD"});
  EXPECT_THAT(last.ToString(), HasSubstr("\"stale\", (integer) 1"));
  // Writes need the central node: TRYAGAIN.
  EXPECT_THAT(reader.CallText({"SET", "k", "v2"}), StartsWith("(error) TRYAGAIN"));
}

// Tokens over RESP (docs/resp.md, "Authentication"): with --auth required, redis-cli without AUTH
// gets -NOAUTH, a forged token -WRONGPASS, a read token reads and its SET is refused at the edge
// naming the missing scope, an admin token writes through the edge; nothing refused is written.
TEST_F(RespTest, TokensAreCheckedOnRespAtTheEdge) {
  if (!HaveRedisCli()) GTEST_SKIP() << "redis-cli not installed (apt-get install redis-tools)";
  const auth::Key key = auth::testing::NewKey(auth::Alg::kES256, "k1");
  const auth::Key stranger = auth::testing::NewKey(auth::Alg::kES256, "k1");
  const std::string jwks = dir_.path() + "/jwks.json";
  std::ofstream(jwks) << auth::testing::JwksOf({&key});
  auto token = [&](const auth::Key& k, const std::string& scope) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    return auth::testing::Forge(
        k, R"({"alg":"ES256","kid":"k1"})",
        absl::StrCat(R"({"sub":"t","scope":")", scope, R"(","exp":)", now + 600, "}"));
  };
  const std::string admin = token(key, "admin read: write:");
  const std::string reader = token(key, "read:");
  const std::string edge_token = dir_.path() + "/edge.token";
  std::ofstream(edge_token) << token(key, "replicate");
  UseToken(admin);
  central_node_ =
      StartCentral({"--resp", "127.0.0.1:0", "--auth", "required", "--auth-jwks", jwks});
  full_ = StartEdge(
      "edge-full", central_node_->address(), "full",
      {"--resp", "127.0.0.1:0", "--auth", "required", "--upstream-token-file", edge_token});
  ASSERT_TRUE(WaitReady(full_));
  const uint64_t head = central_node_->Status()->head_version();

  EXPECT_THAT(Cli(full_, "GET k"), StartsWith("NOAUTH"));
  EXPECT_THAT(Cli(full_, "SET k v"), StartsWith("NOAUTH"));
  EXPECT_THAT(
      Cli(full_, "--user x --pass " + token(stranger, "read:") + " --no-auth-warning GET k"),
      StartsWith("WRONGPASS"));
  const std::string as_reader = "--user x --pass " + reader + " --no-auth-warning ";
  EXPECT_THAT(Cli(full_, as_reader + "SET k v"), HasSubstr("missing scope write:k"));
  EXPECT_EQ(central_node_->Status()->head_version(), head);  // nothing was written
  const std::string as_admin = "--user x --pass " + admin + " --no-auth-warning ";
  EXPECT_EQ(Cli(full_, as_admin + "SET k v"), "OK\n");
  ASSERT_TRUE(WaitApplied(full_, head + 1));
  EXPECT_EQ(Cli(full_, as_reader + "GET k"), "v\n");
  EXPECT_THAT(Cli(full_, as_reader + "GET __kv/auth/jwks"), HasSubstr("missing scope admin"));
  // INFO and DBSIZE tell what Admin.Status tells: a token with admin, as Admin.Status needs.
  EXPECT_THAT(Cli(full_, "INFO replication"), StartsWith("NOAUTH"));
  EXPECT_THAT(Cli(full_, "DBSIZE"), StartsWith("NOAUTH"));
  EXPECT_THAT(Cli(full_, as_reader + "INFO"), HasSubstr("missing scope admin"));
  EXPECT_THAT(Cli(full_, as_reader + "DBSIZE"), HasSubstr("missing scope admin"));
  EXPECT_THAT(Cli(full_, as_admin + "INFO replication"), HasSubstr("role:slave"));
  EXPECT_THAT(Cli(full_, as_admin + "DBSIZE"), ::testing::MatchesRegex("[0-9]+\n"));

  // A cache edge answers cached keys straight from its cache (the shared-read path): the same
  // scopes hold there. Keys an admin read into the cache stay refused to tokens without them,
  // for GET and for MGET, and a token whose prefix does not cover a cached key cannot read it.
  cache_ = StartEdge(
      "edge-cache", central_node_->address(), "cache",
      {"--resp", "127.0.0.1:0", "--auth", "required", "--upstream-token-file", edge_token});
  ASSERT_TRUE(WaitReady(cache_));
  ASSERT_TRUE(WaitApplied(cache_, head + 1));
  EXPECT_EQ(Cli(cache_, as_admin + "GET k"), "v\n");  // now cached
  EXPECT_THAT(Cli(cache_, as_admin + "GET __kv/auth/jwks"), HasSubstr("keys"));
  EXPECT_EQ(Cli(cache_, as_reader + "GET k"), "v\n");
  EXPECT_THAT(Cli(cache_, as_reader + "GET __kv/auth/jwks"), HasSubstr("missing scope admin"));
  EXPECT_THAT(Cli(cache_, as_reader + "MGET k __kv/auth/jwks"), HasSubstr("missing scope admin"));
  const std::string as_narrow =
      "--user x --pass " + token(key, "read:other/") + " --no-auth-warning ";
  EXPECT_THAT(Cli(cache_, as_narrow + "GET k"), HasSubstr("missing scope read:k"));
  EXPECT_THAT(Cli(cache_, as_narrow + "MGET other/x k"), HasSubstr("missing scope read:k"));
  EXPECT_THAT(Cli(cache_, "GET k"), StartsWith("NOAUTH"));
}

}  // namespace
}  // namespace kv::testing

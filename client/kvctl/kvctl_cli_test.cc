// Runs the built kvctl binary (KVCTL_PATH) against a fake server and checks exit codes and
// output: the contract scripts rely on.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/testing/fake_kv_server.h"

extern char** environ;

namespace kv::kvctl {
namespace {

using client::testing::FakeKvServer;
using client::testing::Method;
using client::testing::RefusingPort;
using nlohmann::json;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string TempPath(const std::string& tag) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/kvctl_cli_" + tag + "_XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd >= 0) ::close(fd);
  return path;
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs kvctl with `args`, `input` on stdin, and KV_ENDPOINT = `env_endpoint` (unset if empty).
// Kills it after 30 s.
Result Kvctl(const std::vector<std::string>& args, const std::string& input = "",
             const std::string& env_endpoint = "") {
  const std::string in_path = TempPath("in"), out_path = TempPath("out"),
                    err_path = TempPath("err");
  std::ofstream(in_path, std::ios::binary) << input;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_TRUNC, 0);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "KV_ENDPOINT=")) env_strings.push_back(*e);
  }
  if (!env_endpoint.empty()) env_strings.push_back("KV_ENDPOINT=" + env_endpoint);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = {KVCTL_PATH};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  Result r;
  if (posix_spawn(&pid, KVCTL_PATH, &actions, nullptr, argv.data(), envp.data()) == 0) {
    int status = 0;
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (absl::Now() > give_up) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        ADD_FAILURE() << "kvctl timed out";
        break;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  r.out = Slurp(out_path);
  r.err = Slurp(err_path);
  for (const auto& p : {in_path, out_path, err_path}) ::unlink(p.c_str());
  return r;
}

class KvctlCliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start().ok()); }
  // kvctl --endpoint <fake> args...
  Result Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--endpoint", server_.address()});
    return Kvctl(args, input);
  }
  FakeKvServer server_;
};

TEST_F(KvctlCliTest, HelpEverywhereExitsZero) {
  Result r = Kvctl({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* sub : {"put", "get", "delete", "list", "status", "bulk-put", "Exit status"}) {
    EXPECT_TRUE(absl::StrContains(r.out, sub)) << sub;
  }
  r = Kvctl({"put", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(absl::StrContains(r.out, "--if-version")) << r.out;
  r = Kvctl({"get", "--help"});
  EXPECT_TRUE(absl::StrContains(r.out, "--max-staleness")) << r.out;
  EXPECT_EQ(Kvctl({"bulk-put", "--help"}).code, 0);
  EXPECT_EQ(Kvctl({"--version"}).code, 0);
}

TEST_F(KvctlCliTest, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"put", "k"},
           {"get", "k", "--bogus"},
           {"get", "k", "--consistency", "eventual"},
           {"get", "k", "--max-staleness", "soon"},
           {"put", "k", "v", "--ttl", "1.5s"},
           {"put", "k", "v", "--if-version", "abc"},
           {"list", "--cursor", "***"},
           {"--timeout", "never", "get", "k"},
           {"bulk-put", "/nonexistent/file.jsonl"},
       }) {
    Result r = Run(args);
    EXPECT_EQ(r.code, 2) << absl::StrJoin(args, " ") << "\n" << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, "--help")) << r.err;
  }
  EXPECT_EQ(server_.calls(Method::kPut) + server_.calls(Method::kGet), 0);
}

TEST_F(KvctlCliTest, TheTokenComesFromTheFlagElseKvToken) {
  Result r = Run({"--token", "from-flag", "put", "k", "v"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_FALSE(server_.authorizations().empty());
  EXPECT_EQ(server_.authorizations().back(), "Bearer from-flag");
  ::setenv("KV_TOKEN", "from-env", 1);
  r = Run({"get", "k"});
  ::unsetenv("KV_TOKEN");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(server_.authorizations().back(), "Bearer from-env");
  r = Run({"get", "k"});
  EXPECT_EQ(server_.authorizations().back(), "");
}

TEST_F(KvctlCliTest, UnreadableTlsFilesAreUsageErrors) {
  Result r = Run({"--tls-ca", "/nonexistent/ca.pem", "get", "k"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, ::testing::HasSubstr("/nonexistent/ca.pem"));
  ::setenv("KV_TLS_CERT", "/nonexistent/client.pem", 1);
  r = Run({"get", "k"});
  ::unsetenv("KV_TLS_CERT");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, ::testing::HasSubstr("--tls-cert"));  // the key is missing
}

TEST_F(KvctlCliTest, PutGetDelete) {
  Result r = Run({"put", "greeting", "hello", "--metadata", "m1", "--ttl", "30s"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  r = Run({"get", "greeting"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "hello");
  r = Run({"get", "greeting", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["value"], "hello");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["metadata"], "m1");
  EXPECT_GT(j["expiration"].get<int64_t>(), 0);
  EXPECT_EQ(j["source"], "central");
  EXPECT_EQ(j["node"], "fake");
  EXPECT_TRUE(j.contains("staleness_micros"));
  EXPECT_TRUE(j.contains("as_of_version"));
  r = Run({"delete", "greeting"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "deleted at version 2\n");
  r = Run({"get", "greeting"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "not found\n");
}

TEST_F(KvctlCliTest, ReadOptionsAreSent) {
  Result r = Run({"get", "k", "--consistency", "strong", "--max-staleness", "500ms",
                  "--min-version", "7", "--allow-stale"});
  EXPECT_EQ(r.code, 1);
  kvstore::v1::ReadOptions o = server_.last_read_options();
  EXPECT_EQ(o.consistency(), kvstore::v1::CONSISTENCY_STRONG);
  EXPECT_EQ(o.max_staleness_micros(), 500000);
  EXPECT_EQ(o.min_version(), 7u);
  EXPECT_TRUE(o.allow_stale());
}

TEST_F(KvctlCliTest, ValueFromStdinIsBinarySafe) {
  const std::string bytes("\0\x01\xff\xfe line\n", 10);
  Result r = Run({"put", "bin", "-"}, bytes);
  ASSERT_EQ(r.code, 0) << r.err;
  r = Run({"get", "bin"});
  EXPECT_EQ(r.out, bytes);
  r = Run({"get", "bin", "-o", "json"});
  json j = json::parse(r.out);
  EXPECT_FALSE(j.contains("value"));
  EXPECT_EQ(j["value_base64"], "AAH//iBsaW5lCg==");
}

TEST_F(KvctlCliTest, ServerErrorsMapToExitCodes) {
  Result r = Run({"put", "k", "v", "--if-version", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Run({"put", "k", "v2", "--if-version", "0"});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "kvctl put: FAILED_PRECONDITION: if_version: key is at version 1, not 0\n");

  server_.FailNext(Method::kPut, 1, grpc::StatusCode::INVALID_ARGUMENT, "value: too large");
  r = Run({"put", "k", "v"});
  EXPECT_EQ(r.code, 6);
  EXPECT_TRUE(absl::StrContains(r.err, "INVALID_ARGUMENT: value: too large")) << r.err;

  server_.FailNext(Method::kGet, 1, grpc::StatusCode::INTERNAL, "disk on fire");
  r = Run({"get", "k"});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "kvctl get: INTERNAL: disk on fire\n");

  // A write the server answered with UNAVAILABLE may have been applied (an edge whose forwarded
  // write broke answers so): its outcome is unknown, exit 8 (it was 5 before outcomes were told
  // apart; a write that provably was not sent still exits 5, see UnreachableEndpointExitsFive).
  server_.FailNext(Method::kDelete, 1, grpc::StatusCode::UNAVAILABLE, "central unreachable");
  r = Run({"delete", "k"});
  EXPECT_EQ(r.code, 8);
  EXPECT_TRUE(absl::StrContains(r.err, "UNAVAILABLE: central unreachable")) << r.err;
  EXPECT_EQ(r.err,
            "kvctl delete: outcome unknown: the write may have been applied: UNAVAILABLE: central "
            "unreachable\n");
}

TEST_F(KvctlCliTest, AWriteWhoseAnswerWasLostSaysOutcomeUnknown) {
  server_.FailAfterApplyNext(Method::kPut, 1, grpc::StatusCode::UNAVAILABLE, "Socket closed");
  Result r = Run({"put", "k", "v"});
  EXPECT_EQ(r.code, 8) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "kvctl put: outcome unknown: the write may have been applied: UNAVAILABLE: Socket "
            "closed\n");
  EXPECT_FALSE(absl::StrContains(r.err, "failed")) << r.err;
  kvstore::v1::Entry e;
  EXPECT_TRUE(server_.Lookup("k", &e));  // it was, in fact
  // The same key again, answered: exit 0.
  r = Run({"put", "k", "v"});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(KvctlCliTest, UnreachableEndpointExitsFive) {
  RefusingPort dead;
  Result r = Kvctl({"--endpoint", dead.address(), "--timeout", "500ms", "status"});
  EXPECT_EQ(r.code, 5);
  EXPECT_TRUE(absl::StrContains(r.err, "kvctl status: UNAVAILABLE")) << r.err;
  // A write that could not connect was not sent: a plain failure, exit 5.
  r = Kvctl({"--endpoint", dead.address(), "--timeout", "500ms", "put", "k", "v"});
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.err, "kvctl put: UNAVAILABLE: failed to connect")) << r.err;
}

TEST_F(KvctlCliTest, EndpointComesFromFlagThenEnvironment) {
  RefusingPort dead;
  Result r = Kvctl({"put", "k", "v"}, "", server_.address());  // KV_ENDPOINT only
  EXPECT_EQ(r.code, 0) << r.err;
  // The flag wins over the environment, also after the subcommand.
  r = Kvctl({"get", "k", "--endpoint", server_.address()}, "", dead.address());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "v");
  r = Kvctl({"--timeout", "300ms", "get", "k"}, "", dead.address());
  EXPECT_EQ(r.code, 5);
}

TEST_F(KvctlCliTest, ListPagesWithThePrintedCursor) {
  for (const char* k : {"a/1", "a/2", "a/3", "a/4", "a/5", "b/1"}) server_.Insert(k, "v");
  Result r = Run({"list", "--prefix", "a/", "--limit", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "a/1\tversion=1\na/2\tversion=2\n");
  ASSERT_TRUE(absl::StartsWith(r.err, "next cursor: ")) << r.err;
  const std::string cursor = std::vector<std::string>(absl::StrSplit(r.err, ' '))[2];
  r = Run({"list", "--prefix", "a/", "--limit", "2", "--cursor", cursor, "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  ASSERT_EQ(j["count"], 2);
  EXPECT_EQ(j["entries"][0]["key"], "a/3");
  EXPECT_NE(j["next_cursor"], "");
  r = Run({"list", "--prefix", "a/", "--limit", "2", "--all", "--values"});
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 5);
  EXPECT_TRUE(absl::StrContains(r.out, "a/5\tversion=5\tvalue=v\n")) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(KvctlCliTest, StatusTextAndJson) {
  Result r = Run({"status"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "role:             central")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "node id:          fake")) << r.out;
  r = Run({"status", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["role"], "central");
}

TEST_F(KvctlCliTest, BulkPutSaysWhichLinesWereWritten) {
  const std::string path = TempPath("bulk");
  std::ofstream(path) << "{\"key\":\"a\",\"value\":\"1\"}\n"
                         "{\"key\":\"b\",\"value_base64\":\"AP8=\",\"ttl\":30}\n"
                         "{\"key\":\"c\",\"value\":\"3\"\n"
                         "{\"key\":\"d\",\"value\":\"4\",\"ttl\":\"1m\",\"metadata\":\"m\"}\n";
  Result r = Run({"bulk-put", path});
  ::unlink(path.c_str());
  EXPECT_EQ(r.code, 7) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "written: 1-2,4\n")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "failed: 3\n")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.err, "line 3: malformed: invalid JSON")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.err, "\r")) << "progress on a non-terminal";
  kvstore::v1::Entry e;
  ASSERT_TRUE(server_.Lookup("b", &e));
  EXPECT_EQ(e.value(), std::string("\0\xff", 2));
  EXPECT_FALSE(server_.Lookup("c", &e));

  r = Run({"bulk-put", "-"}, "{\"key\":\"x\",\"value\":\"1\"}\n{\"key\":\"y\",\"value\":\"2\"}\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "bulk-put: 2 lines, 2 written, 0 failed")) << r.out;
}

TEST_F(KvctlCliTest, BulkPutCountsUnknownOutcomesApartAndSavesTheirLines) {
  const std::string path = TempPath("bulk_unknown");
  const std::string unknown_path = TempPath("unknown_out");
  std::ofstream(path) << "{\"key\":\"a\",\"value\":\"1\"}\n"
                         "{\"key\":\"b\",\"value\":\"2\"}\n"
                         "{\"key\":\"c\",\"value\":\"3\"}\n";
  // Window 1: the first Put is applied and loses its answer; the rest are answered.
  server_.FailAfterApplyNext(Method::kPut, 1, grpc::StatusCode::UNAVAILABLE, "Socket closed");
  Result r = Run({"bulk-put", path, "--window", "1", "--unknown-out", unknown_path});
  const std::string saved = Slurp(unknown_path);
  ::unlink(path.c_str());
  ::unlink(unknown_path.c_str());
  EXPECT_EQ(r.code, 8) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out,
                               "bulk-put: 3 lines, 2 written, 0 failed (0 malformed), "
                               "1 outcome unknown, 0 blank"))
      << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "written: 2-3\n")) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "failed: ")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "outcome unknown: 1\n  UNAVAILABLE: 1\n")) << r.out;
  EXPECT_EQ(r.err, "line 1: outcome unknown: UNAVAILABLE: Socket closed; key: a\n");
  EXPECT_EQ(saved, "{\"key\":\"a\",\"value\":\"1\"}\n");

  // An unwritable --unknown-out is a usage error before anything is sent.
  const int puts = server_.calls(Method::kPut);
  r = Run({"bulk-put", "-", "--unknown-out", "/no/such/dir/x"},
          "{\"key\":\"d\",\"value\":\"4\"}\n");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(server_.calls(Method::kPut), puts);
}

}  // namespace
}  // namespace kv::kvctl

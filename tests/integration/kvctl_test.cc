// The real kvctl binary against real kvd processes: what a person or a script sees. Every case
// checks the exit status, stdout and stderr separately, and that rejected commands change
// nothing at the central node (its head version stays put).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/tls/client_channel.h"
#include "kv/client.h"
#include "nlohmann/json.hpp"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kvd_process.h"
#include "tests/support/raw_kv.h"
#include "tests/support/temp_dir.h"

extern char** environ;

namespace kv::testing {
namespace {

using nlohmann::json;

struct KvctlResult {
  int code = -1;  // exit status, or -signal
  std::string out;
  std::string err;
};

std::ostream& operator<<(std::ostream& os, const KvctlResult& r) {
  return os << "exit " << r.code << "\n--- stdout ---\n" << r.out << "\n--- stderr ---\n" << r.err;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A kvctl process started by StartKvctl; FinishKvctl waits for it and collects its output.
struct KvctlChild {
  pid_t pid = -1;
  std::string in, out, err;
};

// Starts kvctl with `args` (nothing added), `input` on stdin and KV_ENDPOINT set to `env_endpoint`
// (removed when nullopt). Output goes through files in `dir`, so no pipe can fill and block.
KvctlChild StartKvctl(const std::string& dir, const std::vector<std::string>& args,
                      const std::string& input, const std::optional<std::string>& env_endpoint) {
  static std::atomic<int> serial{0};
  const std::string base = absl::StrCat(dir, "/kvctl.", ++serial);
  KvctlChild child{-1, base + ".in", base + ".out", base + ".err"};
  std::ofstream(child.in, std::ios::binary) << input;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, child.in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, child.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, child.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "KV_ENDPOINT=")) env.push_back(*e);
  }
  if (env_endpoint) env.push_back("KV_ENDPOINT=" + *env_endpoint);
  std::vector<std::string> argv_strings = {KvctlPath()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& s : argv_strings) argv.push_back(s.data());
  for (auto& s : env) envp.push_back(s.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  int spawned = posix_spawn(&child.pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": " << strerror(spawned);
    child.pid = -1;
  }
  return child;
}

// Waits for `child` (killed after `timeout`) and returns its exit status and output.
KvctlResult FinishKvctl(const KvctlChild& child, absl::Duration timeout = absl::Seconds(30)) {
  KvctlResult r;
  if (child.pid <= 0) return r;
  int status = 0;
  const absl::Time give_up = absl::Now() + timeout;
  while (waitpid(child.pid, &status, WNOHANG) == 0) {
    if (absl::Now() > give_up) {
      kill(child.pid, SIGKILL);
      waitpid(child.pid, &status, 0);
      ADD_FAILURE() << "kvctl did not finish in " << timeout;
      break;
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.out = Slurp(child.out);
  r.err = Slurp(child.err);
  for (const std::string& f : {child.in, child.out, child.err}) unlink(f.c_str());
  return r;
}

// Runs kvctl to the end; killed after 30 s.
KvctlResult RunKvctlOnce(const std::string& dir, const std::vector<std::string>& args,
                         const std::string& input, const std::optional<std::string>& env_endpoint) {
  return FinishKvctl(StartKvctl(dir, args, input, env_endpoint));
}

KvctlResult RunKvctl(const std::string& dir, const std::vector<std::string>& args,
                     const std::string& input, const std::optional<std::string>& env_endpoint) {
  return RunKvctlOnce(dir, args, input, env_endpoint);
}

json ParseJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << text;
  return j;
}

class KvctlTest : public ::testing::Test {
 protected:
  static constexpr int kMaxValueBytes = 64 << 10;

  void SetUp() override {
    central_ = std::make_unique<KvdProcess>(
        "central",
        std::vector<std::string>{"central", "--data-dir", dir_.Sub("central"), "--node-id",
                                 "central-1", "--expiry-sweep-interval", "200ms",
                                 "--max-value-bytes", absl::StrCat(kMaxValueBytes)},
        dir_.path());
    ASSERT_TRUE(central_->Start().ok()) << central_->ReadLog();
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "---- central ----\n" << central_->ReadLog();
      if (edge_) std::cerr << "---- edge ----\n" << edge_->ReadLog();
    }
  }

  // kvctl --endpoint <central> ARGS...
  KvctlResult Kvctl(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--endpoint", central_->address()});
    return RunKvctl(dir_.path(), args, input, std::nullopt);
  }
  KvctlResult KvctlAt(const std::string& endpoint, std::vector<std::string> args) {
    args.insert(args.begin(), {"--endpoint", endpoint});
    return RunKvctl(dir_.path(), args, "", std::nullopt);
  }
  uint64_t Head() {
    auto s = central_->Status();
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->head_version() : 0;
  }
  std::unique_ptr<client::Client> NewClient() {
    client::ClientOptions options;
    options.write_endpoint = central_->address();
    auto c = client::Client::Create(options);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
  // The value at the central node, or nullopt when absent.
  std::optional<std::string> ValueAt(const std::string& key) {
    kvstore::v1::GetResponse got;
    grpc::Status s = RawKv(central_->address()).Get(key, &got);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok() || !got.found()) return std::nullopt;
    return got.entry().value();
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = dir_.Sub(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  TempDir dir_;
  std::unique_ptr<KvdProcess> central_;
  std::unique_ptr<KvdProcess> edge_;
};

TEST_F(KvctlTest, WatchPrintsChangesAsTheyArriveFromAVersion) {
  const uint64_t from = Head() + 1;
  KvctlChild json_watch =
      StartKvctl(dir_.path(),
                 {"--endpoint", central_->address(), "watch", "--prefix", "w/", "--from-version",
                  absl::StrCat(from), "--count", "3", "--for", "30s", "-o", "json"},
                 "", std::nullopt);
  KvctlChild text_watch =
      StartKvctl(dir_.path(),
                 {"--endpoint", central_->address(), "watch", "--prefix", "w/", "--from-version",
                  absl::StrCat(from), "--count", "3", "--for", "30s"},
                 "", std::nullopt);
  RawKv kv(central_->address());
  ASSERT_TRUE(kv.Put("w/a", "1").ok());
  ASSERT_TRUE(kv.Put("x/ignored", "2").ok());
  ASSERT_TRUE(kv.Put("w/b", "3").ok());
  ASSERT_TRUE(kv.Delete("w/a").ok());
  KvctlResult r = FinishKvctl(json_watch);
  ASSERT_EQ(r.code, 0) << r;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << r;
  json first = ParseJson(lines[0]), last = ParseJson(lines[2]);
  EXPECT_EQ(first["type"], "put");
  EXPECT_EQ(first["key"], "w/a");
  EXPECT_EQ(first["value"], "1");
  EXPECT_EQ(first["version"], from);
  EXPECT_EQ(ParseJson(lines[1])["key"], "w/b");
  EXPECT_EQ(last["type"], "delete");
  EXPECT_EQ(last["version"], from + 3);
  KvctlResult text = FinishKvctl(text_watch);
  ASSERT_EQ(text.code, 0) << text;
  EXPECT_EQ(text.out, absl::StrCat(from, "\tput\tw/a\tvalue=1\n", from + 2, "\tput\tw/b\tvalue=3\n",
                                   from + 3, "\tdelete\tw/a\n"));
}

TEST_F(KvctlTest, WatchRefusesBadArgumentsClearly) {
  KvctlResult r = Kvctl({"watch", "--prefix", "a", "--key", "b", "--for", "5s"});
  EXPECT_EQ(r.code, 2) << r;  // usage
  r = Kvctl({"watch", "--key", "", "--for", "5s"});
  EXPECT_NE(r.code, 0) << r;
  EXPECT_NE(r.err.find("kvctl watch"), std::string::npos) << r;
}

TEST_F(KvctlTest, PutGetDeleteRoundTrip) {
  KvctlResult r = Kvctl({"put", "greeting", "hello", "--metadata", "lang=en"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "1\n");
  EXPECT_EQ(r.err, "");

  r = Kvctl({"get", "greeting"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "hello");  // raw bytes, nothing added
  EXPECT_EQ(r.err, "");

  r = Kvctl({"get", "greeting", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  json j = ParseJson(r.out);
  EXPECT_EQ(j["key"], "greeting");
  EXPECT_EQ(j["value"], "hello");
  EXPECT_FALSE(j.contains("value_base64"));
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["metadata"], "lang=en");
  EXPECT_EQ(j["expiration"], 0);
  EXPECT_FALSE(j.contains("expires_at"));
  EXPECT_EQ(j["found"], true);
  EXPECT_EQ(j["source"], "central");
  EXPECT_EQ(j["staleness_micros"], 0);
  EXPECT_EQ(j["node"], "central-1");
  EXPECT_EQ(j["endpoint"], central_->address());

  // Global flags may follow the command.
  r = RunKvctl(dir_.path(),
               {"put", "greeting", "hi", "-o", "json", "--endpoint", central_->address()}, "",
               std::nullopt);
  ASSERT_EQ(r.code, 0) << r;
  j = ParseJson(r.out);
  EXPECT_EQ(j["key"], "greeting");
  EXPECT_EQ(j["version"], 2);
  EXPECT_EQ(j["expiration"], 0);

  r = Kvctl({"delete", "greeting"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "deleted at version 3\n");

  r = Kvctl({"get", "greeting"});
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(absl::StrContains(r.err, "not found")) << r;

  r = Kvctl({"get", "greeting", "-o", "json"});
  EXPECT_EQ(r.code, 1) << r;
  j = ParseJson(r.out);
  EXPECT_EQ(j["key"], "greeting");
  EXPECT_EQ(j["found"], false);
  EXPECT_EQ(j["as_of_version"], 3);

  // Deleting a missing key is not an error.
  r = Kvctl({"delete", "greeting", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  j = ParseJson(r.out);
  EXPECT_EQ(j["deleted"], false);
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(Head(), 3u);
}

TEST_F(KvctlTest, ValuesFromStdinRoundTripByteForByte) {
  std::string binary("\x00\xff\x01 binary\n\x80\xc3", 13);
  for (int i = 0; i < 5000; ++i) binary.push_back(static_cast<char>((i * 7919) & 0xff));
  KvctlResult r = Kvctl({"put", "blob", "-"}, binary);
  ASSERT_EQ(r.code, 0) << r;
  r = Kvctl({"get", "blob"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(r.out == binary) << "got " << r.out.size() << " bytes back of " << binary.size();
  r = Kvctl({"get", "blob", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  json j = ParseJson(r.out);
  EXPECT_FALSE(j.contains("value")) << "binary value printed as text";
  ASSERT_TRUE(j.contains("value_base64"));
  EXPECT_EQ(j["value_base64"], absl::Base64Escape(binary));

  // Text from stdin keeps its trailing newline and is shown as text.
  const std::string text = "h\xc3\xa9llo w\xc3\xb6rld\n";
  ASSERT_EQ(Kvctl({"put", "text", "-"}, text).code, 0);
  r = Kvctl({"get", "text", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(ParseJson(r.out)["value"], text);
  EXPECT_EQ(Kvctl({"get", "text"}).out, text);
}

TEST_F(KvctlTest, ConditionalPutSucceedsOrNamesTheCurrentVersion) {
  KvctlResult r = Kvctl({"put", "cas", "one", "--if-version", "0"});
  ASSERT_EQ(r.code, 0) << r;
  const std::string v1 = std::string(absl::StripAsciiWhitespace(r.out));

  r = Kvctl({"put", "cas", "two", "--if-version", "0"});
  EXPECT_EQ(r.code, 4) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(absl::StartsWith(r.err, "kvctl put: FAILED_PRECONDITION: ")) << r;
  EXPECT_TRUE(absl::StrContains(r.err, v1)) << "message lacks the current version " << v1 << r;

  r = Kvctl({"put", "cas", "two", "--if-version", v1});
  ASSERT_EQ(r.code, 0) << r;
  const std::string v2 = std::string(absl::StripAsciiWhitespace(r.out));

  r = Kvctl({"put", "cas", "three", "--if-version", v1});
  EXPECT_EQ(r.code, 4) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "FAILED_PRECONDITION")) << r;
  EXPECT_TRUE(absl::StrContains(r.err, v2)) << r;

  r = Kvctl({"delete", "cas", "--if-version", v1});
  EXPECT_EQ(r.code, 4) << r;
  EXPECT_TRUE(absl::StrContains(r.err, v2)) << r;
  EXPECT_EQ(ValueAt("cas"), "two");
  EXPECT_EQ(absl::StrCat(Head()), v2);  // the lost conditions wrote nothing

  r = Kvctl({"delete", "cas", "--if-version", v2});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(absl::StartsWith(r.out, "deleted at version")) << r;
}

TEST_F(KvctlTest, TtlKeyDisappears) {
  const int64_t before = absl::ToUnixSeconds(absl::Now());
  KvctlResult r = Kvctl({"put", "brief", "x", "--ttl", "1s", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  const int64_t expiration = ParseJson(r.out)["expiration"].get<int64_t>();
  EXPECT_GE(expiration, before + 1);
  EXPECT_LE(expiration, before + 3);
  ASSERT_EQ(Kvctl({"put", "lasting", "y"}).code, 0);

  r = Kvctl({"get", "brief", "-o", "json"});
  if (r.code == 0) {  // on a loaded machine a second may already have passed
    json j = ParseJson(r.out);
    EXPECT_EQ(j["expiration"], expiration);
    EXPECT_TRUE(j.contains("expires_at"));
  }
  bool gone = WaitFor([&] { return Kvctl({"get", "brief"}).code == 1; }, absl::Seconds(5));
  ASSERT_TRUE(gone) << "a 1 s TTL key still readable after 5 s";
  EXPECT_TRUE(absl::StrContains(Kvctl({"get", "brief"}).err, "not found"));
  r = Kvctl({"list"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_FALSE(absl::StrContains(r.out, "brief")) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "lasting")) << r;
}

// Pages with kvctl list --limit/--cursor over a few thousand keys: each key exactly once, in
// key order, nothing from outside the prefix.
TEST_F(KvctlTest, ListPagesThroughThousandsOfKeys) {
  constexpr int kKeys = 2500;
  {
    auto c = NewClient();
    ASSERT_NE(c, nullptr);
    auto writer = c->NewBulkWriter({.window = 64});
    std::atomic<int> failed{0};
    for (int i = kKeys - 1; i >= 0; --i) {  // written out of key order on purpose
      writer->Add(absl::StrCat("page/", 10000 + i), "v", {},
                  [&](absl::StatusOr<client::PutResult> r) {
                    if (!r.ok()) failed.fetch_add(1);
                  });
    }
    writer->Add("pagez", "outside the prefix", {}, [](absl::StatusOr<client::PutResult>) {});
    writer->Flush();
    ASSERT_EQ(failed.load(), 0);
  }
  std::vector<std::string> keys;
  std::string cursor;
  int pages = 0;
  do {
    std::vector<std::string> args = {"list", "--prefix", "page/", "--limit", "700"};
    if (!cursor.empty()) args.insert(args.end(), {"--cursor", cursor});
    KvctlResult r = Kvctl(args);
    ASSERT_EQ(r.code, 0) << r;
    for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
      std::vector<std::string> cells = absl::StrSplit(line, '\t');
      ASSERT_GE(cells.size(), 2u) << line;
      EXPECT_TRUE(absl::StartsWith(cells[1], "version=")) << line;
      keys.push_back(cells[0]);
    }
    cursor.clear();
    const std::string kNext = "next cursor: ";
    if (size_t at = r.err.find(kNext); at != std::string::npos) {
      size_t end = r.err.find_first_of(" \n", at + kNext.size());
      cursor = r.err.substr(at + kNext.size(), end - at - kNext.size());
    }
    ASSERT_LT(++pages, 20) << "the cursor never ends";
  } while (!cursor.empty());
  EXPECT_EQ(pages, 4);  // 2500 / 700, rounded up
  ASSERT_EQ(keys.size(), size_t{kKeys});
  for (int i = 0; i < kKeys; ++i) ASSERT_EQ(keys[i], absl::StrCat("page/", 10000 + i));

  // JSON pages carry the cursor in the document; --all follows it to the end.
  KvctlResult r = Kvctl({"list", "--prefix", "page/", "--limit", "1000", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  json first = ParseJson(r.out);
  EXPECT_EQ(first["count"], 1000);
  ASSERT_NE(first["next_cursor"], "");
  r = Kvctl({"list", "--prefix", "page/", "--limit", "1000", "-o", "json", "--cursor",
             first["next_cursor"].get<std::string>()});
  ASSERT_EQ(r.code, 0) << r;
  json second = ParseJson(r.out);
  ASSERT_EQ(second["count"], 1000);
  EXPECT_EQ(second["entries"][0]["key"], "page/11000");
  r = Kvctl({"list", "--prefix", "page/", "--limit", "900", "--all", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  json all = ParseJson(r.out);
  EXPECT_EQ(all["count"], kKeys);
  EXPECT_EQ(all["next_cursor"], "");
}

TEST_F(KvctlTest, StatusShowsRoleHeadVersionAndKeyCount) {
  for (int i = 0; i < 7; ++i) ASSERT_EQ(Kvctl({"put", absl::StrCat("s", i), "v"}).code, 0);
  KvctlResult r = Kvctl({"status"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "role:             central\n")) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "node id:          central-1\n")) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "head version:     7\n")) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "keys:             7\n")) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "downstreams:      0\n")) << r;

  r = Kvctl({"status", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  json j = ParseJson(r.out);
  EXPECT_EQ(j["role"], "central");
  EXPECT_EQ(j["head_version"], 7);  // a JSON number, not a proto3-JSON string
  EXPECT_EQ(j["key_count"], 7);
  EXPECT_EQ(j["listen"], central_->address());
  EXPECT_TRUE(j["downstreams"].is_array());
  EXPECT_TRUE(j.contains("replication"));  // unset fields are printed too
}

TEST_F(KvctlTest, EndpointComesFromTheFlagThenKvEndpoint) {
  const std::string dead = DeadAddress();
  KvctlResult r = RunKvctl(dir_.path(), {"put", "env", "from-env"}, "", central_->address());
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(ValueAt("env"), "from-env");
  // The flag wins over the environment.
  r = RunKvctl(dir_.path(), {"--endpoint", central_->address(), "get", "env"}, "", dead);
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "from-env");
  // Nobody at KV_ENDPOINT: UNAVAILABLE, exit 5, within the deadline.
  absl::Time start = absl::Now();
  r = RunKvctl(dir_.path(), {"get", "env", "--timeout", "1s"}, "", dead);
  EXPECT_EQ(r.code, 5) << r;
  EXPECT_TRUE(absl::StartsWith(r.err, "kvctl get: UNAVAILABLE: ")) << r;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(KvctlTest, UsageErrorsExit2AndSendNothing) {
  const std::vector<std::vector<std::string>> cases = {
      {},                                  // no command
      {"frobnicate"},                      // unknown command
      {"get"},                             // missing KEY
      {"put", "k"},                        // missing VALUE
      {"get", "k", "--bogus"},             // unknown flag
      {"put", "k", "v", "--ttl", "1.5s"},  // fractional TTL
      {"put", "k", "v", "--ttl", "soon"},  // not a duration
      {"put", "k", "v", "--ttl", "5s", "--expiration", "4000000000"},
      {"put", "k", "v", "--if-version", "minus-one"},
      {"get", "k", "-o", "yaml"},
      {"get", "k", "--timeout", "eventually"},
      {"list", "--cursor", "!!not base64!!"},
      {"bulk-put", "/no/such/file.jsonl"},
  };
  for (const auto& args : cases) {
    KvctlResult r = Kvctl(args);
    const std::string what = absl::StrJoin(args, " ");
    EXPECT_EQ(r.code, 2) << what << "\n" << r;
    EXPECT_EQ(r.out, "") << what;
    EXPECT_TRUE(absl::StrContains(absl::AsciiStrToLower(r.err), "usage")) << what << "\n" << r;
  }
  // Help is not an error.
  KvctlResult help = Kvctl({"put", "--help"});
  EXPECT_EQ(help.code, 0) << help;
  EXPECT_TRUE(absl::StrContains(help.out, "--if-version")) << help;
  EXPECT_EQ(Head(), 0u);
}

// Limits enforced by the server: the exit status is >= 3, stderr names the status code and the
// server's message, and the head version does not move.
TEST_F(KvctlTest, ServerRejectionsExitWithTheCodeNameAndChangeNothing) {
  ASSERT_EQ(Kvctl({"put", "existing", "v"}).code, 0);
  struct Case {
    std::vector<std::string> args;
    std::string input;
    int code;
    std::string starts;
    std::string mentions;
  };
  const std::string long_key(513, 'k');
  const std::vector<Case> cases = {
      {{"put", long_key, "v"}, "", 6, "kvctl put: INVALID_ARGUMENT: ", "limit of 512 bytes"},
      {{"put", "", "v"}, "", 6, "kvctl put: INVALID_ARGUMENT: ", "key is empty"},
      {{"put", "big", "-"},
       std::string(kMaxValueBytes + 1, 'v'),
       6,
       "kvctl put: RESOURCE_EXHAUSTED: ",
       absl::StrCat("limit of ", kMaxValueBytes, " bytes")},
      {{"put", "meta", "v", "--metadata", std::string(1025, 'm')},
       "",
       6,
       "kvctl put: INVALID_ARGUMENT: ",
       "metadata is 1025 bytes"},
      {{"put", "existing", "w", "--metadata", std::string(1025, 'm')},
       "",
       6,
       "kvctl put: INVALID_ARGUMENT: ",
       "1024"},
      {{"get", long_key}, "", 6, "kvctl get: INVALID_ARGUMENT: ", "limit of 512 bytes"},
      {{"delete", long_key}, "", 6, "kvctl delete: INVALID_ARGUMENT: ", "limit of 512 bytes"},
      {{"list", "--limit", "5000"}, "", 6, "kvctl list: INVALID_ARGUMENT: ", "1000"},
  };
  for (const Case& c : cases) {
    KvctlResult r = Kvctl(c.args, c.input);
    const std::string what = absl::StrJoin(c.args, " ").substr(0, 80);
    EXPECT_EQ(r.code, c.code) << what << "\n" << r;
    EXPECT_GE(r.code, 3) << what;
    EXPECT_EQ(r.out, "") << what;
    EXPECT_TRUE(absl::StartsWith(r.err, c.starts)) << what << "\n" << r;
    EXPECT_TRUE(absl::StrContains(r.err, c.mentions)) << what << "\n" << r;
  }
  // A value of exactly the limit is accepted.
  KvctlResult r = Kvctl({"put", "big", "-"}, std::string(kMaxValueBytes, 'v'));
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "2\n");  // only the two legal writes landed
  EXPECT_EQ(Head(), 2u);
  EXPECT_EQ(ValueAt("existing"), "v");
  EXPECT_EQ(ValueAt("meta"), std::nullopt);
}

std::string Lines(const std::vector<std::string>& lines) {
  return absl::StrJoin(lines, "\n") + "\n";
}

TEST_F(KvctlTest, BulkPutWritesEveryLineOfAValidFile) {
  constexpr int kLines = 1000;
  std::vector<std::string> lines;
  for (int i = 1; i <= kLines; ++i) {
    json j = {{"key", absl::StrCat("bulk/", i)}, {"value", absl::StrCat("value ", i)}};
    if (i % 10 == 0) j["ttl"] = "1h";
    if (i % 7 == 0) j["metadata"] = absl::StrCat("m", i);
    lines.push_back(j.dump());
  }
  const std::string path = WriteFile("valid.jsonl", Lines(lines));
  KvctlResult r = Kvctl({"bulk-put", path});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(absl::StartsWith(r.out, "bulk-put: 1000 lines, 1000 written, 0 failed (0 malformed)"))
      << r;
  EXPECT_TRUE(absl::StrContains(r.out, "\nwritten: 1-1000\n")) << r;
  EXPECT_FALSE(absl::StrContains(r.out, "failed:")) << r;
  EXPECT_EQ(r.err, "");   // no progress line: stderr is not a terminal
  EXPECT_EQ(Head(), 1u);  // one commit of all 1,000 lines

  auto c = NewClient();
  ASSERT_NE(c, nullptr);
  for (int start = 1; start <= kLines; start += 100) {
    std::vector<std::string> keys;
    for (int i = start; i < start + 100; ++i) keys.push_back(absl::StrCat("bulk/", i));
    auto got = c->BatchGet(keys);
    ASSERT_TRUE(got.ok()) << got.status();
    for (int i = start; i < start + 100; ++i) {
      const auto& item = got->items[i - start];
      ASSERT_TRUE(item.found) << "bulk/" << i;
      EXPECT_EQ(item.entry.value, absl::StrCat("value ", i));
      EXPECT_EQ(item.entry.metadata, i % 7 == 0 ? absl::StrCat("m", i) : "");
      EXPECT_EQ(item.entry.expiration != 0, i % 10 == 0) << "bulk/" << i;
    }
  }
  r = Kvctl({"get", "bulk/777"});
  EXPECT_EQ(r.out, "value 777");
}

// Malformed lines are reported by number and not written; every good line is written; the
// summary names exactly which lines were.
TEST_F(KvctlTest, BulkPutReportsBadLinesAndWritesOnlyTheGoodOnes) {
  const std::vector<std::string> lines = {
      R"({"key":"bp/1","value":"one"})",                               // 1 ok
      R"({"key":"bp/2","value":"two")",                                // 2 bad JSON
      R"({"key":"bp/3","value":"three","ttl":"1h","metadata":"m3"})",  // 3 ok
      R"({"value":"no key"})",                                         // 4 missing key
      R"({"key":"bp/5","value_base64":"AP8="})",                       // 5 ok, binary
      R"({"key":"bp/6","value":"six","ttl":"1.5s"})",                  // 6 fractional ttl
      "",                                                              // 7 blank
      R"({"key":"bp/8","value":"eight","ttl":"soon"})",                // 8 bad ttl
      R"({"key":"bp/9","value":"nine","tll":"30s"})",                  // 9 unknown field
      R"({"key":"bp/10","value":"ten","ttl":30})",                     // 10 ok
      R"({"key":"bp/11","value":"eleven","if_version":0})",            // 11 ok
      R"({"key":"bp/1","value":"again","if_version":0})",              // 12 lost condition
      R"({"key":"bp/13","value":"thirteen"})",                         // 13 ok
      R"(["key","bp/14"])",                                            // 14 not an object
      R"({"key":"bp/15","value":"fifteen","ttl":0})",                  // 15 ttl under 1 s
  };
  const std::string path = WriteFile("mixed.jsonl", Lines(lines));
  KvctlResult r = Kvctl({"bulk-put", path});
  EXPECT_EQ(r.code, 7) << r;
  EXPECT_TRUE(
      absl::StartsWith(r.out, "bulk-put: 15 lines, 6 written, 8 failed (7 malformed), 1 blank"))
      << r;
  EXPECT_TRUE(absl::StrContains(r.out, "\nwritten: 1,3,5,10-11,13\n")) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "\nfailed: 2,4,6,8-9,12,14-15\n")) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "  malformed: 2,4,6,8-9,14-15\n")) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "  FAILED_PRECONDITION: 12\n")) << r;
  for (int bad : {2, 4, 6, 8, 9, 14, 15}) {
    EXPECT_TRUE(absl::StrContains(r.err, absl::StrCat("line ", bad, ": malformed: "))) << bad << r;
  }
  EXPECT_TRUE(absl::StrContains(r.err, "line 12: FAILED_PRECONDITION: ")) << r;
  EXPECT_FALSE(absl::StrContains(r.err, "line 7:")) << r;

  // The six good lines, and nothing else: lines 1, 3, 5 and 10 in one commit, the conditional
  // line 11 as a Put of its own (12 lost its condition), and 13 in a last commit.
  EXPECT_EQ(Head(), 3u);
  EXPECT_EQ(ValueAt("bp/1"), "one");
  EXPECT_EQ(ValueAt("bp/3"), "three");
  EXPECT_EQ(ValueAt("bp/5"), std::string("\x00\xff", 2));
  EXPECT_EQ(ValueAt("bp/10"), "ten");
  EXPECT_EQ(ValueAt("bp/11"), "eleven");
  EXPECT_EQ(ValueAt("bp/13"), "thirteen");
  for (const char* absent : {"bp/2", "bp/6", "bp/8", "bp/9", "bp/14", "bp/15"}) {
    EXPECT_EQ(ValueAt(absent), std::nullopt) << absent;
  }
  r = Kvctl({"get", "bp/3", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  json j = ParseJson(r.out);
  EXPECT_EQ(j["metadata"], "m3");
  EXPECT_GT(j["expiration"].get<int64_t>(), absl::ToUnixSeconds(absl::Now()) + 3000);
}

TEST_F(KvctlTest, BulkPutReadsStandardInput) {
  KvctlResult r = Kvctl({"bulk-put", "-"},
                        Lines({R"({"key":"in/1","value":"a"})", R"({"key":"in/2","value":"b"})",
                               R"({"key":"in/3","value":"c"})"}));
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "\nwritten: 1-3\n")) << r;
  EXPECT_EQ(ValueAt("in/2"), "b");
  EXPECT_EQ(Head(), 1u);                                 // one commit
  r = Kvctl({"bulk-put", "-"}, "{\"key\":\"in/4\"}\n");  // no value
  EXPECT_EQ(r.code, 7) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "\nwritten: none\n")) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "line 1: malformed: ")) << r;
  EXPECT_EQ(Head(), 1u);
}

// kvctl commit: the JSON object from a file or stdin, exit 0 applied (the version printed), exit 4
// when a check fails (nothing applied), exit 2 for malformed JSON (nothing sent).
TEST_F(KvctlTest, CommitAppliesAllOrNothingWithExitCodes) {
  ASSERT_EQ(Kvctl({"put", "acct/a", "17"}).code, 0);
  ASSERT_EQ(Kvctl({"put", "acct/c", "x"}).code, 0);
  const std::string path = WriteFile("commit.json", R"({
    "checks": [{"key": "acct/a", "version": 1}, {"key": "acct/b", "absent": true}],
    "mutations": [{"put": {"key": "acct/a", "value": "10", "ttl": "1h"}},
                  {"put": {"key_base64": "YWNjdC9i", "value_base64": "AP8=", "metadata": "m"}},
                  {"delete": {"key": "acct/c"}},
                  {"add": {"key": "hits/today", "delta": 1}}]})");
  KvctlResult r = Kvctl({"commit", path});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "3\ncounter 1\n");
  EXPECT_EQ(ValueAt("acct/a"), "10");
  EXPECT_EQ(ValueAt("acct/b"), std::string("\x00\xff", 2));  // key_base64 "acct/b"
  EXPECT_EQ(ValueAt("acct/c"), std::nullopt);
  EXPECT_EQ(ValueAt("hits/today"), std::string("\x01\0\0\0\0\0\0\0", 8));
  r = Kvctl({"get", "acct/a", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(ParseJson(r.out)["version"], 3);

  // The same commit again: acct/a is at version 3 now, so the check fails and nothing changes.
  r = Kvctl({"commit", path});
  EXPECT_EQ(r.code, 4) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "FAILED_PRECONDITION")) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "'acct/a' is at version 3")) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "current version: 3")) << r;
  EXPECT_EQ(Head(), 3u);
  EXPECT_EQ(ValueAt("hits/today"), std::string("\x01\0\0\0\0\0\0\0", 8));

  // From standard input, with -o json: a counter and a compare-and-swap.
  r = Kvctl({"commit", "-", "-o", "json"},
            R"({"checks": [{"key": "acct/a", "version": 3}],
                "mutations": [{"put": {"key": "acct/a", "value": "11"}},
                              {"add": {"key": "hits/today", "delta": -5}}]})");
  ASSERT_EQ(r.code, 0) << r;
  json j = ParseJson(r.out);
  EXPECT_EQ(j["version"], 4);
  EXPECT_EQ(j["counters"], json::array({-4}));

  // Malformed: exit 2, nothing sent.
  for (const std::string& bad :
       {std::string("{\"mutations\": []}"),
        std::string("{\"mutations\": [{\"put\": {\"key\": \"k\"}}]}"),
        std::string("{\"mutations\": [{\"add\": {\"key\": \"k\", \"delta\": 1.5}}]}"),
        std::string(
            "{\"checks\": [{\"key\": \"k\"}], \"mutations\": [{\"delete\": {\"key\": \"k\"}}]}"),
        std::string(
            "{\"mutations\": [{\"put\": {\"key\": \"k\", \"value\": \"v\", \"if_version\": 0}}]}"),
        std::string("not json")}) {
    r = Kvctl({"commit", "-"}, bad);
    EXPECT_EQ(r.code, 2) << bad << "\n" << r;
  }
  // Rejected by the node (the same key twice): exit 6.
  r = Kvctl({"commit", "-"},
            R"({"mutations": [{"delete": {"key": "k"}}, {"add": {"key": "k", "delta": 1}}]})");
  EXPECT_EQ(r.code, 6) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "mutates key 'k' again")) << r;
  EXPECT_EQ(Head(), 4u);
}

// kvctl status on an edge shows its upstream, staleness and applied version; on the central
// node, the edge appears as a downstream with its lag.
TEST_F(KvctlTest, StatusShowsReplicationOnBothEnds) {
  edge_ = std::make_unique<KvdProcess>(
      "edge",
      std::vector<std::string>{"edge", "--mode", "full", "--upstream", central_->address(),
                               "--data-dir", dir_.Sub("edge"), "--node-id", "edge-a",
                               "--max-staleness", "1s"},
      dir_.path());
  ASSERT_TRUE(edge_->Start().ok()) << edge_->ReadLog();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Kvctl({"put", absl::StrCat("r", i), "v"}).code, 0);
  const uint64_t head = Head();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto e = edge_->Status();
        auto c = central_->Status();
        return e.ok() && e->head_version() == head && e->ready() && c.ok() &&
               c->downstreams_size() == 1 && c->downstreams(0).acked_version() == head;
      },
      absl::Seconds(20)));

  KvctlResult r = KvctlAt(edge_->address(), {"status"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "role:             edge (full)\n")) << r;
  EXPECT_TRUE(absl::StrContains(r.out, absl::StrCat("applied version:  ", head, "\n"))) << r;
  EXPECT_TRUE(absl::StrContains(r.out, absl::StrCat("upstream:         ", central_->address())))
      << r;
  EXPECT_TRUE(absl::StrContains(r.out, "  connection:     connected, streaming\n")) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "(bound 1.00s)")) << r;

  r = KvctlAt(edge_->address(), {"status", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  json j = ParseJson(r.out);
  EXPECT_EQ(j["role"], "edge");
  EXPECT_EQ(j["mode"], "full");
  EXPECT_EQ(j["head_version"], head);
  EXPECT_EQ(j["replication"]["upstream"], central_->address());
  EXPECT_EQ(j["replication"]["max_staleness_micros"], 1000000);
  EXPECT_LT(j["replication"]["staleness_micros"].get<int64_t>(), 1000000);
  EXPECT_GE(j["replication"]["staleness_micros"].get<int64_t>(), 0);

  // Reads at the edge say where they were answered.
  r = KvctlAt(edge_->address(), {"get", "r0", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  j = ParseJson(r.out);
  EXPECT_EQ(j["source"], "edge-store");
  EXPECT_EQ(j["node"], "edge-a");
  EXPECT_LT(j["staleness_micros"].get<int64_t>(), 1000000);
  r = KvctlAt(edge_->address(), {"get", "r0", "-o", "json", "--consistency", "strong"});
  ASSERT_EQ(r.code, 0) << r;
  j = ParseJson(r.out);
  EXPECT_EQ(j["source"], "central");
  EXPECT_EQ(j["node"], "central-1");
  EXPECT_EQ(j["endpoint"], edge_->address());

  r = Kvctl({"status"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "downstreams:      1\n")) << r;
  std::vector<std::string> row;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    std::vector<std::string> cells = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (!cells.empty() && cells[0] == "edge-a") row = cells;
  }
  // NODE ADDRESS MODE ACKED LAG(VERSIONS) LAG(TIME) CONNECTED IDENTITY ("-": no credentials)
  ASSERT_EQ(row.size(), 8u) << r;
  EXPECT_EQ(row[7], "-");
  EXPECT_EQ(row[2], "full");
  EXPECT_EQ(row[3], absl::StrCat(head));
  EXPECT_EQ(row[4], "0");

  r = Kvctl({"status", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  j = ParseJson(r.out);
  ASSERT_EQ(j["downstreams"].size(), 1u) << r;
  EXPECT_EQ(j["downstreams"][0]["node_id"], "edge-a");
  EXPECT_EQ(j["downstreams"][0]["acked_version"], head);
  EXPECT_EQ(j["downstreams"][0]["lag_versions"], 0);
  EXPECT_EQ(j["downstreams"][0]["lag_micros"], 0);
}

// "1-3,5" -> {1, 2, 3, 5}; the inverse of bulk-put's line ranges.
std::vector<int64_t> ParseRanges(absl::string_view text) {
  std::vector<int64_t> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<std::string> ends = absl::StrSplit(part, '-');
    int64_t from = 0, to = 0;
    if (!absl::SimpleAtoi(ends[0], &from) || !absl::SimpleAtoi(ends.back(), &to)) {
      ADD_FAILURE() << "bad range " << part;
      return out;
    }
    for (int64_t i = from; i <= to; ++i) out.push_back(i);
  }
  return out;
}

// The line numbers bulk-put's summary lists after "<label>: " (none when there is no such line).
std::vector<int64_t> SummaryLines(const std::string& out, const std::string& label) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::ConsumePrefix(&line, label + ": ") && line != "none") return ParseRanges(line);
  }
  return {};
}

// kill -9 of the central node in the middle of a bulk-put. After the node restarts from its
// data, every line kvctl reported written is there with its value, no line it reported failed
// is there, and the lines it reported with unknown outcome (the Puts or commits in flight at the
// kill) may be either; their input lines went to --unknown-out.
class KvctlKillTest : public KvctlTest {
 protected:
  void KillCentralDuringBulkPut(const std::vector<std::string>& flags, uint64_t kill_at_head) {
    constexpr int kLines = 40000;
    std::vector<std::string> lines;
    for (int i = 1; i <= kLines; ++i) {
      lines.push_back(
          json{{"key", absl::StrCat("crash/", i)}, {"value", absl::StrCat("v", i)}}.dump());
    }
    const std::string path = WriteFile("crash.jsonl", Lines(lines));
    const std::string unknown_path = dir_.Sub("unknown.jsonl");
    std::vector<std::string> args = {
        "--endpoint", central_->address(), "--timeout", "5s", "bulk-put",
        path,         "--unknown-out",     unknown_path};
    args.insert(args.end(), flags.begin(), flags.end());
    KvctlChild child = StartKvctl(dir_.path(), args, "", std::nullopt);
    // Kill while Puts are streaming: after a tenth of the file is committed.
    ASSERT_TRUE(WaitFor(
        [&] {
          auto s = central_->Status();
          return s.ok() && s->head_version() >= kill_at_head;
        },
        absl::Seconds(60)));
    central_->Kill();
    KvctlResult r = FinishKvctl(child, absl::Seconds(120));
    ASSERT_TRUE(central_->Start().ok()) << central_->ReadLog();

    const std::vector<int64_t> written = SummaryLines(r.out, "written");
    const std::vector<int64_t> failed = SummaryLines(r.out, "failed");
    const std::vector<int64_t> unknown = SummaryLines(r.out, "outcome unknown");
    ASSERT_EQ(written.size() + failed.size() + unknown.size(), size_t{kLines}) << r.out;
    EXPECT_FALSE(failed.empty()) << "the kill came after the last line: " << r.out;
    EXPECT_FALSE(unknown.empty()) << "no Put was in flight at the kill: " << r.out;
    EXPECT_EQ(r.code, 8) << r.out;
    EXPECT_TRUE(absl::StartsWith(
        r.out,
        absl::StrCat("bulk-put: ", kLines, " lines, ", written.size(), " written, ", failed.size(),
                     " failed (0 malformed), ", unknown.size(), " outcome unknown, 0 blank")))
        << r.out;
    // Every failure is a connection that could not be made (the node was down): nothing sent.
    for (absl::string_view line : absl::StrSplit(r.err, '\n', absl::SkipEmpty())) {
      if (!absl::StartsWith(line, "line ") || absl::StrContains(line, ": outcome unknown: "))
        continue;
      EXPECT_TRUE(absl::StrContains(line, ": UNAVAILABLE: failed to connect to all addresses"))
          << line;
    }
    std::map<std::string, std::string> content;
    grpc::Status listed = RawKv(central_->address()).Content(&content);
    ASSERT_TRUE(listed.ok()) << listed.error_message();
    auto value_of = [&](int64_t line) -> std::optional<std::string> {
      auto it = content.find(absl::StrCat("crash/", line));
      if (it == content.end()) return std::nullopt;
      // "version|expiration|value"
      std::vector<std::string> parts = absl::StrSplit(it->second, absl::MaxSplits('|', 2));
      return parts.back();
    };
    int written_missing = 0, failed_present = 0, unknown_applied = 0;
    for (int64_t line : written) {
      std::optional<std::string> v = value_of(line);
      if (v != absl::StrCat("v", line)) {
        if (++written_missing <= 5)
          ADD_FAILURE() << "line " << line << " reported written, not there";
      }
    }
    for (int64_t line : failed) {
      if (value_of(line).has_value() && ++failed_present <= 5) {
        ADD_FAILURE() << "line " << line << " reported failed, but it was written";
      }
    }
    for (int64_t line : unknown) {
      std::optional<std::string> v = value_of(line);
      if (v.has_value()) {
        EXPECT_EQ(*v, absl::StrCat("v", line));
        ++unknown_applied;
      }
    }
    EXPECT_EQ(written_missing, 0);
    EXPECT_EQ(failed_present, 0);
    EXPECT_EQ(content.size(), written.size() + unknown_applied);
    std::cerr << written.size() << " written, " << failed.size() << " failed, " << unknown.size()
              << " outcome unknown (" << unknown_applied << " of them applied)\n";

    // --unknown-out holds exactly the input lines with unknown outcome, in order.
    std::vector<std::string> expected_unknown;
    for (int64_t line : unknown) expected_unknown.push_back(lines[line - 1]);
    EXPECT_EQ(Slurp(unknown_path), Lines(expected_unknown));
  }
};

// With commits of 10 lines, 2 in flight: killed after a tenth of the file.
TEST_F(KvctlKillTest, BulkPutByCommitsReportsHonestOutcomesWhenTheCentralNodeIsKilled) {
  KillCentralDuringBulkPut({"--commit-keys", "10", "--commits-in-flight", "2"}, 400);
}

// One Put per line, 64 in flight: killed after a tenth of the file.
TEST_F(KvctlKillTest, BulkPutOnePerCallReportsHonestOutcomesWhenTheCentralNodeIsKilled) {
  KillCentralDuringBulkPut({"--one-per-call", "--window", "64"}, 4000);
}

// The token workflow of docs/security.md with kvctl alone: a key file, its JWKS seeding a
// central node with --auth required, minted tokens with scopes, then the key set rotated with
// auth set-keys and the old token refused.
TEST_F(KvctlTest, AuthMintJwksAndSetKeysRunTheTokenWorkflow) {
  const std::string old_key = WriteFile("old.secret", "an-hs256-secret-of-at-least-32-bytes-old\n");
  const std::string new_key = WriteFile("new.secret", "an-hs256-secret-of-at-least-32-bytes-new\n");
  KvctlResult jwks = Kvctl({"auth", "jwks", "--key", old_key, "--kid", "old"});
  ASSERT_EQ(jwks.code, 0) << jwks;
  const std::string jwks_path = WriteFile("old.jwks", jwks.out);
  KvdProcess secured("secured",
                     {"central", "--data-dir", dir_.Sub("secured"), "--auth", "required",
                      "--auth-jwks", jwks_path, "--auth-issuer", "https://kv.test"},
                     dir_.path());
  auto mint = [&](const std::string& key, const std::string& kid, const std::string& scope) {
    KvctlResult r = Kvctl({"auth", "mint", "--key", key, "--kid", kid, "--scope", scope, "--ttl",
                           "10m", "--sub", "ops", "--iss", "https://kv.test"});
    EXPECT_EQ(r.code, 0) << r;
    return std::string(absl::StripAsciiWhitespace(r.out));
  };
  const std::string admin = mint(old_key, "old", "admin read: write:");
  secured.set_client_security(*tls::ClientChannelSecurity::Make({}, admin));
  ASSERT_TRUE(secured.Start().ok()) << secured.ReadLog();
  const std::string reader = mint(old_key, "old", "read:");
  auto at = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--endpoint", secured.address()});
    return RunKvctl(dir_.path(), args, "", std::nullopt);
  };

  KvctlResult r = at({"put", "k", "v"});
  EXPECT_EQ(r.code, 9) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "UNAUTHENTICATED")) << r;
  EXPECT_EQ(at({"--token", admin, "put", "k", "v"}).code, 0);
  r = at({"--token", reader, "put", "k", "w"});
  EXPECT_EQ(r.code, 9) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "PERMISSION_DENIED")) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "write:")) << r;  // names the missing scope
  r = at({"--token", reader, "get", "k"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "v");

  // A reader cannot replace the key set; a malformed document never leaves kvctl.
  KvctlResult new_jwks = Kvctl({"auth", "jwks", "--key", new_key, "--kid", "new"});
  ASSERT_EQ(new_jwks.code, 0) << new_jwks;
  const std::string new_jwks_path = WriteFile("new.jwks", new_jwks.out);
  r = at({"--token", reader, "auth", "set-keys", new_jwks_path});
  EXPECT_EQ(r.code, 9) << r;
  r = at({"--token", admin, "auth", "set-keys", WriteFile("bad.jwks", "{\"keys\": 3}")});
  EXPECT_EQ(r.code, 2) << r;
  r = at({"--token", admin, "auth", "set-keys", new_jwks_path});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "kids new")) << r;

  // The old key is gone: its tokens are refused, the new key's work.
  r = at({"--token", admin, "get", "k"});
  EXPECT_EQ(r.code, 9) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "UNAUTHENTICATED")) << r;
  r = at({"--token", mint(new_key, "new", "read:"), "get", "k"});
  EXPECT_EQ(r.code, 0) << r;
  r = at({"--token", mint(new_key, "new", "admin"), "status"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "auth:             required\n")) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "kids new\n")) << r;

  r = Kvctl({"auth", "mint", "--key", dir_.Sub("missing"), "--scope", "read:"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "cannot read")) << r;
  r = Kvctl({"auth", "mint", "--key", old_key, "--scope", "read:", "--ttl", "-5m"});
  EXPECT_EQ(r.code, 2) << r;
}

}  // namespace
}  // namespace kv::testing

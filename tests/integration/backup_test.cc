// Online backup and restore with real processes (docs/operations.md, "Backup" and "Restore"):
// a backup taken while a writer keeps writing holds exactly the writes up to its version; an
// older backup restored as the central node starts a new history, and every edge that was ahead
// (a full edge, a relay and the edge behind it, a cache edge) is RESET and converges to the
// restored content; backups need the admin scope and the central node; `kvd restore` refuses a
// non-empty data directory and a damaged backup.

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "auth/testing/test_keys.h"
#include "kvstore/v1/admin.grpc.pb.h"
#include "kvstore/v1/kv.grpc.pb.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/wait_for.h"

extern char** environ;

namespace kv::testing {
namespace {

namespace fs = std::filesystem;

struct ToolResult {
  int code = -1;
  std::string out, err;
};

std::ostream& operator<<(std::ostream& os, const ToolResult& r) {
  return os << "exit " << r.code << "\n--- stdout ---\n" << r.out << "--- stderr ---\n" << r.err;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `binary` with `args` to the end (killed after 60 s); output through files in `dir`.
ToolResult RunTool(const std::string& dir, const std::string& binary,
                   const std::vector<std::string>& args) {
  static std::atomic<int> serial{0};
  const std::string base = absl::StrCat(dir, "/tool.", ++serial);
  const std::string out = base + ".out", err = base + ".err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> strings = {binary};
  strings.insert(strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  ToolResult r;
  int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    ADD_FAILURE() << "cannot start " << binary;
    return r;
  }
  int status = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (absl::Now() > give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << binary << " did not finish in 60 s";
      break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.out = Slurp(out);
  r.err = Slurp(err);
  unlink(out.c_str());
  unlink(err.c_str());
  return r;
}

// key -> (value, version)
using Content = std::map<std::string, std::pair<std::string, uint64_t>>;

class BackupTest : public ClusterFixture {
 protected:
  grpc::Status Put(KvdProcess* node, const std::string& key, const std::string& value,
                   uint64_t* version = nullptr) {
    auto stub = node->KvStub();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    kvstore::v1::PutRequest req;
    req.set_key(key);
    req.set_value(value);
    kvstore::v1::PutResponse resp;
    grpc::Status s = stub->Put(&ctx, req, &resp);
    if (s.ok() && version != nullptr) *version = resp.version();
    return s;
  }

  // A bounded read at `node` (local when the node is in sync). Not found = "".
  absl::StatusOr<std::pair<bool, std::string>> Get(KvdProcess* node, const std::string& key) {
    auto stub = node->KvStub();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    kvstore::v1::GetRequest req;
    req.set_key(key);
    kvstore::v1::GetResponse resp;
    grpc::Status s = stub->Get(&ctx, req, &resp);
    if (!s.ok()) return absl::UnavailableError(s.error_message());
    return std::make_pair(resp.found(), resp.entry().value());
  }

  // Every key with `prefix` at `node` (a full node answers locally).
  Content List(KvdProcess* node, const std::string& prefix) {
    Content out;
    auto stub = node->KvStub();
    std::string cursor;
    do {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      kvstore::v1::ListRequest req;
      req.set_prefix(prefix);
      req.set_cursor(cursor);
      req.set_limit(1000);
      req.set_include_values(true);
      kvstore::v1::ListResponse resp;
      grpc::Status s = stub->List(&ctx, req, &resp);
      EXPECT_TRUE(s.ok()) << node->name() << ": " << s.error_message();
      if (!s.ok()) break;
      for (const auto& e : resp.entries()) out[e.key()] = {e.value(), e.version()};
      cursor = resp.next_cursor();
    } while (!cursor.empty());
    return out;
  }

  absl::StatusOr<kvstore::v1::BackupResponse> Backup(KvdProcess* node, const std::string& dest) {
    auto stub = node->AdminStub();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    if (!token_.empty()) ctx.AddMetadata("authorization", "Bearer " + token_);
    kvstore::v1::BackupRequest req;
    req.set_dest(dest);
    kvstore::v1::BackupResponse resp;
    grpc::Status s = stub->Backup(&ctx, req, &resp);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    }
    return resp;
  }

  ToolResult Restore(const std::string& from, const std::string& data_dir) {
    return RunTool(dir_.path(), KvdPath(), {"restore", "--from", from, "--data-dir", data_dir});
  }

  // Replaces the central node with one on `data_dir`, on the same address.
  KvdProcess* RestartCentralOn(const std::string& data_dir) {
    const std::string address = central_->address();
    EXPECT_EQ(central_->Stop(), 0);
    central_ = std::make_unique<KvdProcess>(
        "central",
        std::vector<std::string>{"central", "--data-dir", data_dir, "--node-id", "central",
                                 "--listen", address},
        dir_.path());
    central_->set_client_security(ClientSecurity());
    EXPECT_TRUE(central_->Start().ok()) << central_->ReadLog();
    return central_.get();
  }
};

// 1. A backup taken while a writer keeps writing holds exactly the writes up to its version.
TEST_F(BackupTest, OnlineBackupWhileWritingIsConsistentAtItsVersion) {
  ASSERT_NE(StartCentral(), nullptr);
  absl::Mutex mu;
  std::map<uint64_t, std::pair<std::string, std::string>> acked;  // version -> key, value
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string key = absl::StrCat("w/", i % 97);
      const std::string value = absl::StrCat("value-", i, std::string(i % 300, 'x'));
      uint64_t version = 0;
      if (!Put(central_.get(), key, value, &version).ok()) {
        failures.fetch_add(1);
        continue;
      }
      absl::MutexLock l(&mu);
      acked[version] = {key, value};
    }
  });
  auto acked_count = [&] {
    absl::MutexLock l(&mu);
    return acked.size();
  };
  ASSERT_TRUE(WaitFor([&] { return acked_count() >= 500; }, absl::Seconds(60)));
  const std::string dest = dir_.Sub("backup-online");
  auto backup = Backup(central_.get(), dest);
  const size_t before_backup_returned = acked_count();
  // Writes continue after it, too.
  ASSERT_TRUE(
      WaitFor([&] { return acked_count() >= before_backup_returned + 200; }, absl::Seconds(60)));
  stop.store(true);
  writer.join();
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(failures.load(), 0);
  const uint64_t v = backup->version();
  EXPECT_EQ(backup->path(), dest);
  EXPECT_TRUE(fs::exists(dest + "/KV_BACKUP"));

  // What the central node held at V, from what the writer recorded.
  Content expected;
  uint64_t newest = 0;
  {
    absl::MutexLock l(&mu);
    for (const auto& [version, kv] : acked) {
      newest = std::max(newest, version);
      if (version <= v) expected[kv.first] = {kv.second, version};
    }
    ASSERT_TRUE(acked.count(v)) << "the backup's version " << v << " is no acknowledged write";
  }
  EXPECT_GT(newest, v) << "no write was committed after the backup's version";
  EXPECT_GE(v, 500u);

  ToolResult restored = Restore(dest, dir_.Sub("restored-online"));
  ASSERT_EQ(restored.code, 0) << restored;
  EXPECT_TRUE(absl::StrContains(restored.out, absl::StrCat("restored version ", v))) << restored;
  auto original = central_->Status();
  ASSERT_TRUE(original.ok());

  KvdProcess copy("restored",
                  {"central", "--data-dir", dir_.Sub("restored-online"), "--node-id", "restored"},
                  dir_.path());
  ASSERT_TRUE(copy.Start().ok()) << copy.ReadLog();
  auto status = copy.Status();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->head_version(), v);
  EXPECT_EQ(status->cluster_id(), original->cluster_id());
  EXPECT_FALSE(status->history_id().empty());
  EXPECT_NE(status->history_id(), original->history_id()) << "a restore starts a new history";
  EXPECT_EQ(backup->history_id(), original->history_id());
  Content got = List(&copy, "w/");
  EXPECT_EQ(got.size(), expected.size());
  for (const auto& [key, value] : expected) {
    auto it = got.find(key);
    ASSERT_NE(it, got.end()) << key << " missing from the backup";
    EXPECT_EQ(it->second, value) << key;
  }
  // The version sequence continues from the backup's version.
  uint64_t next = 0;
  ASSERT_TRUE(Put(&copy, "after-restore", "x", &next).ok());
  EXPECT_EQ(next, v + 1);
  EXPECT_EQ(copy.Stop(), 0);
}

// 2. An older backup restored as the central node: every edge that was ahead converges to it.
TEST_F(BackupTest, RestoringAnOlderBackupResetsEveryEdgeToTheRestoredContent) {
  ASSERT_NE(StartCentral(), nullptr);
  KvdProcess* full = StartEdge("full", central_->address(), "full");
  KvdProcess* relay = StartEdge("relay", central_->address(), "full");
  KvdProcess* leaf = StartEdge("leaf", relay->address(), "full");
  KvdProcess* cache = StartEdge("cache", central_->address(), "cache");
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Put(central_.get(), absl::StrCat("a/", i), absl::StrCat("old-", i)).ok());
  }
  auto backup = Backup(central_.get(), dir_.Sub("backup-old"));
  ASSERT_TRUE(backup.ok()) << backup.status();
  const uint64_t v = backup->version();
  const std::string old_history = backup->history_id();

  // Writes the restored central node will not have: new keys, and a new value of an old key.
  uint64_t head = 0;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Put(central_.get(), absl::StrCat("b/", i), "lost", &head).ok());
  }
  ASSERT_TRUE(Put(central_.get(), "a/0", "lost", &head).ok());
  for (KvdProcess* edge : {full, relay, leaf, cache}) {
    ASSERT_TRUE(WaitApplied(edge, head)) << edge->name();
    ASSERT_TRUE(WaitReady(edge)) << edge->name();
  }
  // The cache edge caches what it serves.
  for (const std::string key : {"a/0", "b/0", "b/1"}) {
    auto got = Get(cache, key);
    ASSERT_TRUE(got.ok() && got->first) << key;
  }

  ToolResult restored = Restore(backup->path(), dir_.Sub("central-restored"));
  ASSERT_EQ(restored.code, 0) << restored;
  RestartCentralOn(dir_.Sub("central-restored"));
  auto status = central_->Status();
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->head_version(), v);
  const std::string new_history = status->history_id();
  ASSERT_NE(new_history, old_history);
  // New writes reuse the version numbers the edges hold for the lost writes.
  uint64_t new_head = 0;
  for (int i = 0; i < 15; ++i) {
    ASSERT_TRUE(Put(central_.get(), absl::StrCat("c/", i), "new", &new_head).ok());
  }
  ASSERT_GT(new_head, head);

  Content want_a = List(central_.get(), "a/");
  ASSERT_EQ(want_a.size(), 10u);
  ASSERT_EQ(want_a["a/0"].first, "old-0");
  for (KvdProcess* edge : {full, relay, leaf, cache}) {
    EXPECT_TRUE(WaitFor(
        [&] {
          auto s = edge->Status();
          return s.ok() && s->history_id() == new_history && s->head_version() >= new_head &&
                 s->ready();
        },
        absl::Seconds(60)))
        << edge->name() << " did not converge to the restored history";
    auto s = edge->Status();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->history_id(), new_history) << edge->name();
    EXPECT_GE(s->replication().resets() + s->replication().snapshots(), 1u) << edge->name();
  }
  // Every edge serves the restored content: the lost writes are gone everywhere.
  for (KvdProcess* edge : {full, relay, leaf, cache}) {
    for (int i = 0; i < 10; ++i) {
      auto got = Get(edge, absl::StrCat("b/", i));
      ASSERT_TRUE(got.ok()) << edge->name() << ": " << got.status();
      EXPECT_FALSE(got->first) << edge->name() << " still serves b/" << i;
      got = Get(edge, absl::StrCat("a/", i));
      ASSERT_TRUE(got.ok()) << edge->name();
      EXPECT_TRUE(got->first && got->second == absl::StrCat("old-", i))
          << edge->name() << " a/" << i << " = " << got->second;
    }
    auto got = Get(edge, "c/14");
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(got->first && got->second == "new") << edge->name();
  }
  // Full edges hold exactly the central node's data, versions included.
  Content want = List(central_.get(), "");
  for (KvdProcess* edge : {full, relay, leaf}) {
    EXPECT_EQ(List(edge, ""), want) << edge->name();
  }
  // Each was RESET, and says why (the leaf by its relay, which took the new history).
  for (KvdProcess* edge : {full, relay, leaf, cache}) {
    EXPECT_TRUE(absl::StrContains(edge->ReadLog(), "answered RESET")) << edge->name();
  }
  EXPECT_TRUE(absl::StrContains(full->ReadLog(), "history")) << full->ReadLog();
  if (getenv("BACKUP_TEST_PRINT_LOGS") != nullptr) {
    for (KvdProcess* edge : {full, relay, leaf, cache}) std::cerr << edge->ReadLog();
  }
}

// 3. A backup needs the admin scope, and is taken at the central node only.
TEST_F(BackupTest, BackupNeedsTheAdminScopeAndTheCentralNode) {
  using auth::testing::Forge;
  using auth::testing::JwksOf;
  using auth::testing::NewKey;
  auth::Key key = NewKey(auth::Alg::kES256, "k1");
  const std::string jwks = dir_.Sub("jwks.json");
  std::ofstream(jwks) << JwksOf({&key});
  auto token = [&](const std::string& scope, const std::string& sub) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    return Forge(
        key, R"({"alg":"ES256","kid":"k1","typ":"JWT"})",
        absl::StrCat(R"({"iss":"https://issuer.test","aud":"kv","sub":")", sub, R"(","scope":")",
                     scope, R"(","iat":)", now, R"(,"exp":)", now + 3600, "}"));
  };
  const std::vector<std::string> auth = {
      "--auth", "required", "--auth-issuer", "https://issuer.test", "--auth-audience", "kv"};
  const std::string admin = token("admin read: write:", "ops");
  UseToken(admin);
  std::vector<std::string> central_flags = auth;
  central_flags.insert(central_flags.end(), {"--auth-jwks", jwks});
  ASSERT_NE(StartCentral(central_flags), nullptr);
  const std::string edge_token = dir_.Sub("edge.token");
  std::ofstream(edge_token) << token("replicate", "edge");
  std::vector<std::string> edge_flags = auth;
  edge_flags.insert(edge_flags.end(), {"--upstream-token-file", edge_token});
  KvdProcess* edge = StartEdge("full", central_->address(), "full", edge_flags);
  ASSERT_TRUE(WaitReady(edge));

  auto kvctl = [&](const std::string& endpoint, const std::string& bearer,
                   const std::string& dest) {
    std::vector<std::string> args = {"--endpoint", endpoint};
    if (!bearer.empty()) args.insert(args.end(), {"--token", bearer});
    args.insert(args.end(), {"admin", "backup", "--dest", dest});
    return RunTool(dir_.path(), KvctlPath(), args);
  };
  // No token, and a token without the admin scope: denied (exit 9), nothing written.
  ToolResult r = kvctl(central_->address(), "", dir_.Sub("b-none"));
  EXPECT_EQ(r.code, 9) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "UNAUTHENTICATED")) << r;
  r = kvctl(central_->address(), token("read: write:", "writer"), dir_.Sub("b-writer"));
  EXPECT_EQ(r.code, 9) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "PERMISSION_DENIED")) << r;
  EXPECT_FALSE(fs::exists(dir_.Sub("b-none")));
  EXPECT_FALSE(fs::exists(dir_.Sub("b-writer")));
  // At an edge: refused (FAILED_PRECONDITION, exit 4), even for an admin.
  r = kvctl(edge->address(), admin, dir_.Sub("b-edge"));
  EXPECT_EQ(r.code, 4) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "central node")) << r;
  EXPECT_FALSE(fs::exists(dir_.Sub("b-edge")));
  // An admin at the central node: the version and the path.
  r = kvctl(central_->address(), admin, dir_.Sub("b-admin"));
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(absl::StrContains(r.out, "backup of version ")) << r;
  EXPECT_TRUE(absl::StrContains(r.out, dir_.Sub("b-admin"))) << r;
  EXPECT_TRUE(fs::exists(dir_.Sub("b-admin") + "/KV_BACKUP"));
  // A destination that is taken is refused.
  r = kvctl(central_->address(), admin, dir_.Sub("b-admin"));
  EXPECT_EQ(r.code, 4) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "not empty")) << r;
}

// 4. `kvd restore` refuses a non-empty data directory and a backup that fails verification.
TEST_F(BackupTest, RestoreRefusesANonEmptyDataDirAndADamagedBackup) {
  ASSERT_NE(StartCentral(), nullptr);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put(central_.get(), absl::StrCat("k/", i), "v").ok());
  auto backup = Backup(central_.get(), dir_.Sub("backup"));
  ASSERT_TRUE(backup.ok()) << backup.status();

  // A data directory that holds anything is left alone.
  fs::create_directories(dir_.Sub("busy"));
  std::ofstream(dir_.Sub("busy/precious")) << "keep me";
  ToolResult r = Restore(backup->path(), dir_.Sub("busy"));
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "is not empty")) << r;
  EXPECT_EQ(Slurp(dir_.Sub("busy/precious")), "keep me");
  EXPECT_FALSE(fs::exists(dir_.Sub("busy/KV_ROLE")));

  // A damaged table: refused, and no data directory appears.
  fs::copy(backup->path(), dir_.Sub("damaged"), fs::copy_options::recursive);
  std::string table;
  for (const auto& e : fs::directory_iterator(dir_.Sub("damaged/db"))) {
    if (e.path().extension() == ".sst") table = e.path().string();
  }
  ASSERT_FALSE(table.empty());
  {
    std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(20);
    char c = 0;
    f.get(c);
    f.seekp(20);
    f.put(static_cast<char>(c ^ 0x5a));
  }
  r = Restore(dir_.Sub("damaged"), dir_.Sub("from-damaged"));
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "fails verification")) << r;
  EXPECT_FALSE(fs::exists(dir_.Sub("from-damaged")));
  EXPECT_FALSE(fs::exists(dir_.Sub("from-damaged.restoring")));

  // A missing file, and a directory that is no finished backup.
  fs::copy(backup->path(), dir_.Sub("truncated"), fs::copy_options::recursive);
  fs::remove(fs::path(dir_.Sub("truncated")) / "db" / fs::path(table).filename());
  r = Restore(dir_.Sub("truncated"), dir_.Sub("from-truncated"));
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "is missing")) << r;
  fs::remove(dir_.Sub("damaged/KV_BACKUP"));
  r = Restore(dir_.Sub("damaged"), dir_.Sub("from-unfinished"));
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_TRUE(absl::StrContains(r.err, "not a finished backup")) << r;

  // The intact backup restores, into an empty directory too, stamped as a central node's.
  fs::create_directories(dir_.Sub("empty"));
  r = Restore(backup->path(), dir_.Sub("empty"));
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(absl::StrContains(Slurp(dir_.Sub("empty/KV_ROLE")), "role=central"));
  // A restored directory is a central node's: an edge refuses it.
  KvdProcess wrong("wrong",
                   {"edge", "--upstream", central_->address(), "--data-dir", dir_.Sub("empty"),
                    "--node-id", "wrong"},
                   dir_.path());
  EXPECT_FALSE(wrong.Start(absl::Seconds(10)).ok());
}

}  // namespace
}  // namespace kv::testing

// LocalReplica (kv/local_replica.h) against real kvd processes on loopback: a full replica that
// follows the central node or a relay, a cache replica that reads cold keys through, the
// freshness contract when the upstream dies (bounded reads fail, allow_stale answers labelled
// stale), large values read through, and the HTTP API example answering from its replica.

#include "kv/local_replica.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "kv/client.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kvd_process.h"
#include "tests/support/wait_for.h"

namespace kv::testing {
namespace {

using client::LocalReplica;
using client::LocalReplicaOptions;
using client::ReplicaMode;
using client::Source;

class LocalReplicaTest : public ClusterFixture {
 protected:
  std::unique_ptr<client::Client> Writer(const std::string& endpoint) {
    client::ClientOptions options;
    options.write_endpoint = endpoint;
    auto c = client::Client::Create(options);
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }
  std::unique_ptr<LocalReplica> Replica(const std::string& upstream, ReplicaMode mode,
                                        absl::Duration max_staleness = absl::Seconds(5)) {
    LocalReplicaOptions options;
    options.upstream = upstream;
    options.mode = mode;
    options.max_staleness = max_staleness;
    options.timeout = absl::Seconds(2);
    options.node_id = "replica-test";
    auto r = LocalReplica::Create(options);
    EXPECT_TRUE(r.ok()) << r.status();
    return std::move(*r);
  }
};

TEST_F(LocalReplicaTest, FullReplicaAnswersEveryReadInProcess) {
  StartCentral();
  auto writer = Writer(central_->address());
  for (int i = 0; i < 200; ++i) {
    client::PutOptions put;
    if (i == 7) put.metadata = "meta";
    ASSERT_TRUE(writer->Put(absl::StrFormat("user/%03d", i), absl::StrCat("v", i), put).ok());
  }
  const std::string binary_key("bin\0\xff", 5), binary_value("\0v\n", 3);
  ASSERT_TRUE(writer->Put(binary_key, binary_value).ok());

  auto replica = Replica(central_->address(), ReplicaMode::kFull);
  ASSERT_TRUE(replica->WaitUntilReady(absl::Seconds(20)).ok());
  EXPECT_EQ(replica->Status().keys, 201u);

  auto got = replica->Get("user/007");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->found);
  EXPECT_EQ(got->entry.value, "v7");
  EXPECT_EQ(got->entry.metadata, "meta");
  EXPECT_EQ(got->info.source, Source::kLocalReplica);
  EXPECT_EQ(got->info.node_id, "replica-test");
  EXPECT_GE(got->info.as_of_version, 201u);
  EXPECT_LT(got->info.staleness, absl::Seconds(5));
  auto bin = replica->Get(binary_key);
  ASSERT_TRUE(bin.ok() && bin->found);
  EXPECT_EQ(bin->entry.value, binary_value);
  auto missing = replica->Get("user/none");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->found);

  // Read-your-writes: a write through the replica, then a read at its version.
  auto put = replica->Put("user/new", "fresh");
  ASSERT_TRUE(put.ok()) << put.status();
  client::ReadOptions ryw;
  ryw.min_version = put->version;
  auto mine = replica->Get("user/new", ryw);
  ASSERT_TRUE(mine.ok() && mine->found) << mine.status();
  EXPECT_EQ(mine->entry.value, "fresh");
  EXPECT_EQ(mine->info.source, Source::kLocalReplica) << "the stream brought it within the wait";
  auto del = replica->Delete("user/new");
  ASSERT_TRUE(del.ok() && del->deleted);
  ryw.min_version = del->version;
  auto gone = replica->Get("user/new", ryw);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->found);

  auto batch = replica->BatchGet({"user/001", "user/none", "user/199"});
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->items.size(), 3u);
  EXPECT_TRUE(batch->items[0].found);
  EXPECT_FALSE(batch->items[1].found);
  EXPECT_EQ(batch->items[2].entry.value, "v199");
  EXPECT_EQ(batch->info.source, Source::kLocalReplica);

  // Every page listed locally matches what the central node lists.
  std::vector<std::string> local, central;
  for (auto* keys : {&local, &central}) {
    client::ListOptions list;
    list.prefix = "user/";
    list.limit = 37;
    for (int page = 0; page < 50; ++page) {
      auto listed = keys == &local ? replica->List(list) : writer->List(list);
      ASSERT_TRUE(listed.ok()) << listed.status();
      if (keys == &local) {
        EXPECT_EQ(listed->info.source, Source::kLocalReplica);
      }
      for (const auto& e : listed->entries) keys->push_back(e.key);
      if (listed->next_cursor.empty()) break;
      list.cursor = listed->next_cursor;
    }
  }
  EXPECT_EQ(local.size(), 200u);
  EXPECT_EQ(local, central);

  client::ReadOptions strong;
  strong.consistency = client::Consistency::kStrong;
  auto s = replica->Get("user/001", strong);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->info.source, Source::kCentral);
}

TEST_F(LocalReplicaTest, FollowsARelayAndSeesLaterWrites) {
  StartCentral();
  KvdProcess* relay = StartEdge("relay", central_->address(), "full");
  ASSERT_TRUE(WaitReady(relay));
  auto writer = Writer(central_->address());
  auto replica = Replica(relay->address(), ReplicaMode::kFull);
  ASSERT_TRUE(replica->WaitUntilReady(absl::Seconds(20)).ok());
  uint64_t last = 0;
  for (int i = 0; i < 50; ++i) {
    auto put = writer->Put(absl::StrCat("k", i % 5), absl::StrCat("v", i));
    ASSERT_TRUE(put.ok());
    last = put->version;
  }
  ASSERT_TRUE(
      WaitFor([&] { return replica->Status().applied_version >= last; }, absl::Seconds(10)));
  for (int k = 0; k < 5; ++k) {
    auto got = replica->Get(absl::StrCat("k", k));
    ASSERT_TRUE(got.ok() && got->found);
    EXPECT_EQ(got->entry.value, absl::StrCat("v", 45 + k));
    EXPECT_EQ(got->info.source, Source::kLocalReplica);
  }
}

TEST_F(LocalReplicaTest, CacheReplicaReadsColdKeysThroughAndFollowsTheStream) {
  StartCentral();
  auto writer = Writer(central_->address());
  ASSERT_TRUE(writer->Put("hot", "1").ok());
  auto replica = Replica(central_->address(), ReplicaMode::kCache);
  ASSERT_TRUE(replica->WaitUntilReady(absl::Seconds(20)).ok());

  auto first = replica->Get("hot");
  ASSERT_TRUE(first.ok() && first->found) << first.status();
  EXPECT_EQ(first->info.source, Source::kCentral) << "a cold key is read through";
  auto second = replica->Get("hot");
  ASSERT_TRUE(second.ok() && second->found);
  EXPECT_EQ(second->info.source, Source::kLocalReplica);

  auto put = writer->Put("hot", "2");
  ASSERT_TRUE(put.ok());
  client::ReadOptions at;
  at.min_version = put->version;
  auto third = replica->Get("hot", at);
  ASSERT_TRUE(third.ok() && third->found);
  EXPECT_EQ(third->entry.value, "2");
  EXPECT_EQ(third->info.source, Source::kLocalReplica) << "the stream updated the cached key";

  auto absent = replica->Get("never");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->found);
  auto absent_again = replica->Get("never");
  ASSERT_TRUE(absent_again.ok());
  EXPECT_EQ(absent_again->info.source, Source::kLocalReplica) << "not found is cached too";

  auto batch = replica->BatchGet({"hot", "never"});
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->info.source, Source::kLocalReplica);
  auto cold_batch = replica->BatchGet({"hot", "cold"});
  ASSERT_TRUE(cold_batch.ok());
  EXPECT_EQ(cold_batch->info.source, Source::kCentral) << "a batch with a cold key goes upstream";

  client::ListOptions list;
  auto listed = replica->List(list);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->info.source, Source::kCentral) << "a cache lists upstream";
  const client::ReplicaStatus st = replica->Status();
  EXPECT_GE(st.cache_hits, 3u);
  EXPECT_GE(st.upstream_fetches, 2u);
}

TEST_F(LocalReplicaTest, ADeadUpstreamFailsBoundedReadsAndServesStaleOnlyWhenAsked) {
  StartCentral();
  auto writer = Writer(central_->address());
  ASSERT_TRUE(writer->Put("k", "v").ok());
  auto replica = Replica(central_->address(), ReplicaMode::kFull, absl::Milliseconds(400));
  ASSERT_TRUE(replica->WaitUntilReady(absl::Seconds(20)).ok());
  central_->Kill();
  ASSERT_TRUE(WaitFor([&] { return replica->Status().staleness > absl::Milliseconds(600); },
                      absl::Seconds(10)));
  auto bounded = replica->Get("k");
  ASSERT_FALSE(bounded.ok());
  EXPECT_EQ(bounded.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(bounded.status().message().find("stale"), std::string::npos) << bounded.status();
  EXPECT_NE(bounded.status().message().find("allow_stale"), std::string::npos);

  client::ReadOptions stale;
  stale.allow_stale = true;
  auto answered = replica->Get("k", stale);
  ASSERT_TRUE(answered.ok()) << answered.status();
  EXPECT_TRUE(answered->found);
  EXPECT_TRUE(answered->info.stale);
  EXPECT_EQ(answered->info.source, Source::kLocalReplica);
  EXPECT_GT(answered->info.staleness, absl::Milliseconds(400));

  ASSERT_TRUE(central_->Start().ok());
  ASSERT_TRUE(replica->WaitUntilReady(absl::Seconds(20)).ok()) << "it resumes by itself";
  auto again = replica->Get("k");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->info.stale);
}

// A replica staler than its bound sends the read upstream with that bound: a relay with a looser
// default must not answer it with data the replica was too stale to serve.
TEST_F(LocalReplicaTest, AReplicaBehindALooserRelayKeepsItsOwnBound) {
  StartCentral();
  KvdProcess* relay = StartEdge("relay", central_->address(), "full",
                                {"--max-staleness", "60s", "--upstream-timeout", "300ms"});
  ASSERT_TRUE(WaitReady(relay));
  auto writer = Writer(central_->address());
  ASSERT_TRUE(writer->Put("k", "v").ok());
  for (ReplicaMode mode : {ReplicaMode::kFull, ReplicaMode::kCache}) {
    SCOPED_TRACE(mode == ReplicaMode::kFull ? "full" : "cache");
    auto replica = Replica(relay->address(), mode, absl::Milliseconds(400));
    ASSERT_TRUE(replica->WaitUntilReady(absl::Seconds(20)).ok());
    ASSERT_TRUE(replica->Get("k").ok());
    central_->Pause();  // the relay's freshness stops; it still answers by its 60 s bound
    ASSERT_TRUE(WaitFor([&] { return replica->Status().staleness > absl::Milliseconds(600); },
                        absl::Seconds(10)));
    auto got = replica->Get("k");
    EXPECT_FALSE(got.ok()) << "answered with staleness " << got->info.staleness;
    auto batch = replica->BatchGet({"k"});
    EXPECT_FALSE(batch.ok()) << "answered with staleness " << batch->info.staleness;
    auto listed = replica->List(client::ListOptions());
    EXPECT_FALSE(listed.ok()) << "answered with staleness " << listed->info.staleness;
    central_->Resume();
  }
}

TEST_F(LocalReplicaTest, ACommitThroughTheReplicaIsReadBackWhole) {
  StartCentral();
  for (ReplicaMode mode : {ReplicaMode::kFull, ReplicaMode::kCache}) {
    auto replica = Replica(central_->address(), mode);
    ASSERT_TRUE(replica->WaitUntilReady(absl::Seconds(20)).ok());
    const std::string a = mode == ReplicaMode::kFull ? "full/a" : "cache/a";
    const std::string b = mode == ReplicaMode::kFull ? "full/b" : "cache/b";
    auto committed = replica->Commit(
        {client::CommitCheck::Absent(a)},
        {client::CommitMutation::Put(a, "10"), client::CommitMutation::Put(b, "20")});
    ASSERT_TRUE(committed.ok()) << committed.status();
    client::ReadOptions at;
    at.min_version = committed->version;
    auto read = replica->BatchGet({a, b}, at);  // a cache replica reads these through first
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_TRUE(read->items[0].found && read->items[1].found);
    EXPECT_EQ(read->items[0].entry.version, committed->version);
    EXPECT_EQ(read->items[1].entry.version, committed->version);
    auto again =
        replica->Commit({client::CommitCheck::Absent(a)}, {client::CommitMutation::Put(a, "11")});
    EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
  }
}

TEST_F(LocalReplicaTest, LargeValuesAreReadThrough) {
  StartCentral({"--push-value-limit=1024"});
  auto writer = Writer(central_->address());
  auto replica = Replica(central_->address(), ReplicaMode::kFull);
  ASSERT_TRUE(replica->WaitUntilReady(absl::Seconds(20)).ok());
  const std::string big(4096, 'b');
  auto put = writer->Put("big", big);
  ASSERT_TRUE(put.ok());
  client::ReadOptions at;
  at.min_version = put->version;
  auto got = replica->Get("big", at);
  ASSERT_TRUE(got.ok() && got->found) << got.status();
  EXPECT_EQ(got->entry.value, big);
  EXPECT_EQ(got->info.source, Source::kCentral) << "the replica holds its version, not its bytes";
}

}  // namespace
}  // namespace kv::testing

namespace kv::testing {
namespace {

// One HTTP/1.1 request on a new connection; the whole response ("" if nothing answers).
std::string HttpGet(const std::string& address, const std::string& path,
                    const std::string& api_key) {
  const auto colon = address.rfind(':');
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: test\r\n",
                                           api_key.empty() ? "" : "x-api-key: " + api_key + "\r\n",
                                           "Connection: close\r\n\r\n");
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, n);
  close(fd);
  return response;
}

// client/examples/replica_http.cc as a user runs it: an API that rejects unknown API keys and
// serves profiles, both from a LocalReplica in its own process.
TEST_F(LocalReplicaTest, TheHttpExampleAnswersFromItsReplica) {
  StartCentral();
  auto writer = Writer(central_->address());
  ASSERT_TRUE(writer->Put("apikeys/k-123", "c1").ok());
  ASSERT_TRUE(writer->Put("profiles/c1", R"({"name":"Ada"})").ok());
  const std::string listen = DeadAddress();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(REPLICA_HTTP_EXAMPLE, REPLICA_HTTP_EXAMPLE, "--upstream", central_->address().c_str(),
          "--listen", listen.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string ok;
  EXPECT_TRUE(WaitFor(
      [&] {
        ok = HttpGet(listen, "/profile", "k-123");
        return !ok.empty();
      },
      absl::Seconds(20)));
  EXPECT_NE(ok.find("200 OK"), std::string::npos) << ok;
  EXPECT_NE(ok.find(R"({"name":"Ada"})"), std::string::npos) << ok;
  const std::string unknown = HttpGet(listen, "/profile", "k-999");
  EXPECT_NE(unknown.find("401"), std::string::npos) << unknown;
  const std::string none = HttpGet(listen, "/profile", "");
  EXPECT_NE(none.find("401"), std::string::npos) << none;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

}  // namespace
}  // namespace kv::testing

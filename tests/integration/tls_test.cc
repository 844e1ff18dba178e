// TLS end to end with real kvd processes on loopback: a central node, a full edge (relay) and a
// cache edge behind it, all serving TLS and requiring client certificates, replication
// included; kvctl and the client library over TLS; plain text to a TLS port; certificates from
// another CA, as server and as client; a wrong upstream name; rotation under reads (by the file
// watcher and by SIGHUP); bad new certificates that keep the old one in use; and the protected
// mode that refuses exposed plain-text listeners.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/tls/certificate.h"
#include "gmock/gmock.h"
#include "kv/client.h"
#include "server/http/http_test_client.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/kvd_process.h"
#include "tests/support/test_pki.h"
#include "tests/support/tls_probe.h"
#include "tests/support/wait_for.h"

extern char** environ;

namespace kv::testing {
namespace {

using ::kv::server::testing::TestHttpClient;
using ::testing::HasSubstr;

// ---- helpers ----

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<client::Client> TlsClient(const tls::ClientTlsFiles& files,
                                          const std::string& write,
                                          std::vector<std::string> reads = {}) {
  client::ClientOptions options;
  options.write_endpoint = write;
  options.read_endpoints = std::move(reads);
  options.timeout = absl::Seconds(5);
  options.tls.ca_file = files.ca_file;
  options.tls.cert_file = files.cert_file;
  options.tls.key_file = files.key_file;
  options.tls.server_name = files.server_name;
  auto c = client::Client::Create(options);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

// An HTTPS client context trusting the PKI's CA and presenting its client certificate.
std::shared_ptr<boost::asio::ssl::context> HttpsContext(TestPki& pki) {
  const tls::ClientTlsFiles files = pki.ClientFiles();
  auto context = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
  context->load_verify_file(files.ca_file);
  context->use_certificate_chain_file(files.cert_file);
  context->use_private_key_file(files.key_file, boost::asio::ssl::context::pem);
  context->set_verify_mode(boost::asio::ssl::verify_peer);
  return context;
}

int PortOf(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

// GET `path` over HTTPS; the body, or the error.
std::string HttpsGet(TestPki& pki, const std::string& address, const std::string& path) {
  TestHttpClient http(PortOf(address), HttpsContext(pki));
  if (absl::Status s = http.Connect(); !s.ok()) return absl::StrCat("error: ", s.message());
  auto r = http.Get(path);
  if (!r.ok()) return absl::StrCat("error: ", r.status().message());
  return r->body();
}

// The serial of the certificate served at `address`, or "error: ...".
std::string ServedSerial(TestPki& pki, const std::string& address) {
  ProbeOptions probe;
  probe.ca_pem = pki.ca().cert_pem();
  probe.server_name = "localhost";
  probe.client = {ReadFile(pki.FilesOf("client").cert), ReadFile(pki.FilesOf("client").key)};
  absl::StatusOr<std::string> pem = ServedCertificate(address, probe);
  return pem.ok() ? SerialOf(*pem) : absl::StrCat("error: ", pem.status().message());
}

struct KvctlRun {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs kvctl with `args` and exactly the KV_* variables of `env` (the runner's own KV_*
// variables are removed). Killed after 30 s.
KvctlRun Kvctl(const std::string& dir, const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env) {
  static std::atomic<int> serial{0};
  const std::string base = absl::StrCat(dir, "/kvctl.", ++serial);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, (base + ".out").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, (base + ".err").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "KV_")) env_strings.push_back(*e);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<std::string> argv_strings = {KvctlPath()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& s : argv_strings) argv.push_back(s.data());
  for (auto& s : env_strings) envp.push_back(s.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  KvctlRun run;
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()) == 0) {
    int status = 0;
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (absl::Now() > give_up) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ADD_FAILURE() << "kvctl did not finish";
        break;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  run.out = ReadFile(base + ".out");
  run.err = ReadFile(base + ".err");
  unlink((base + ".out").c_str());
  unlink((base + ".err").c_str());
  return run;
}

class TlsTest : public ClusterFixture {
 protected:
  // The KV_* environment of an operator holding the client certificate.
  std::map<std::string, std::string> KvctlEnv(const std::string& endpoint) {
    const tls::ClientTlsFiles files = pki_->ClientFiles();
    return {{"KV_ENDPOINT", endpoint},
            {"KV_TLS_CA", files.ca_file},
            {"KV_TLS_CERT", files.cert_file},
            {"KV_TLS_KEY", files.key_file}};
  }
  kvstore::v1::StatusResponse StatusOf(KvdProcess* node) {
    auto s = node->Status();
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : kvstore::v1::StatusResponse();
  }
};

// ---- the cluster over TLS ----

TEST_F(TlsTest, ACentralARelayAndACacheEdgeReplicateOverMutualTls) {
  TestPki* pki = EnableTls("require");
  KvdProcess* central = StartCentral({"--http", "127.0.0.1:0"});
  KvdProcess* relay = StartEdge("edge-a", central->address(), "full", {"--http", "127.0.0.1:0"});
  KvdProcess* cache = StartEdge("edge-c", relay->address(), "cache");
  ASSERT_TRUE(WaitReady(relay));
  ASSERT_TRUE(WaitReady(cache));

  auto c = TlsClient(pki->ClientFiles(), central->address(), {cache->address(), relay->address()});
  ASSERT_NE(c, nullptr);
  auto put = c->Put("greeting", "hello over tls");
  ASSERT_TRUE(put.ok()) << put.status();
  ASSERT_TRUE(WaitApplied(relay, put->version));
  ASSERT_TRUE(WaitApplied(cache, put->version));
  auto got = c->Get("greeting");  // the nearest read endpoint: the cache edge
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->entry.value, "hello over tls");
  EXPECT_EQ(got->info.endpoint, cache->address());

  for (KvdProcess* node : {central, relay, cache}) {
    const kvstore::v1::StatusResponse s = StatusOf(node);
    ASSERT_TRUE(s.has_tls()) << node->name();
    EXPECT_TRUE(s.tls().serving());
    EXPECT_EQ(s.tls().grpc_client_certs(), "require");
    EXPECT_THAT(s.tls().cert_subject(), HasSubstr("CN=" + node->name()));
    EXPECT_GT(s.tls().cert_not_after(), absl::ToUnixSeconds(absl::Now()));
  }
  EXPECT_TRUE(StatusOf(cache).replication().connected());
  EXPECT_EQ(StatusOf(central).downstreams_size(), 1);
  EXPECT_EQ(StatusOf(relay).downstreams_size(), 1);

  // HTTPS with a client certificate; the relay forwards nothing: it has the key.
  EXPECT_EQ(HttpsGet(*pki, relay->http_address(), "/v1/kv/greeting"), "hello over tls");
  EXPECT_THAT(HttpsGet(*pki, central->http_address(), "/metrics"),
              HasSubstr("kv_tls_cert_expiry_seconds"));
}

TEST_F(TlsTest, KvctlOverTlsFromTheEnvironmentAndFlags) {
  TestPki* pki = EnableTls("require");
  KvdProcess* central = StartCentral();
  const std::string dir = dir_.path();
  std::map<std::string, std::string> env = KvctlEnv(central->address());

  KvctlRun r = Kvctl(dir, {"put", "k", "v1"}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  r = Kvctl(dir, {"get", "k"}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "v1");
  r = Kvctl(dir, {"status"}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("tls:              serving"));
  EXPECT_THAT(r.out, HasSubstr("CN=central"));

  // The same with flags instead of variables.
  const tls::ClientTlsFiles files = pki->ClientFiles();
  r = Kvctl(dir,
            {"--endpoint", central->address(), "--tls-ca", files.ca_file, "--tls-cert",
             files.cert_file, "--tls-key", files.key_file, "get", "k"},
            {});
  ASSERT_EQ(r.code, 0) << r.err;

  // No client certificate: the node refuses the handshake (UNAVAILABLE, exit 5).
  std::map<std::string, std::string> no_cert = {{"KV_ENDPOINT", central->address()},
                                                {"KV_TLS_CA", files.ca_file}};
  r = Kvctl(dir, {"--timeout", "3s", "get", "k"}, no_cert);
  EXPECT_EQ(r.code, 5) << r.err;
  // Plain text to the TLS port.
  r = Kvctl(dir, {"--timeout", "3s", "get", "k"}, {{"KV_ENDPOINT", central->address()}});
  EXPECT_EQ(r.code, 5) << r.err;
  // A name the certificate does not carry.
  std::map<std::string, std::string> wrong_name = env;
  wrong_name["KV_TLS_SERVER_NAME"] = "somebody-else.example";
  r = Kvctl(dir, {"--timeout", "3s", "get", "k"}, wrong_name);
  EXPECT_EQ(r.code, 5) << r.err;
  // The node is unharmed.
  r = Kvctl(dir, {"get", "k"}, env);
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(TlsTest, PlainTextToTlsPortsFailsCleanlyAndTheNodeGoesOn) {
  TestPki* pki = EnableTls("require");
  KvdProcess* central = StartCentral({"--http", "127.0.0.1:0"});

  // gRPC in plain text.
  auto channel = grpc::CreateChannel(central->address(), grpc::InsecureChannelCredentials());
  auto stub = kvstore::v1::Admin::NewStub(channel);
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    kvstore::v1::StatusResponse response;
    grpc::Status s = stub->Status(&ctx, kvstore::v1::StatusRequest(), &response);
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
        << s.error_code() << " " << s.error_message();
  }
  // HTTP in plain text.
  TestHttpClient plain(PortOf(central->http_address()), absl::Seconds(5));
  ASSERT_TRUE(plain.Connect().ok());
  auto answer = plain.Get("/healthz");
  EXPECT_FALSE(answer.ok());

  ASSERT_TRUE(central->running());
  EXPECT_TRUE(central->Status().ok());
  EXPECT_EQ(HttpsGet(*pki, central->http_address(), "/healthz"), "ok\n");
}

// ---- trust ----

TEST_F(TlsTest, CertificatesOfAnotherCaAreRefusedAsServerAndAsClient) {
  TestPki* pki = EnableTls("require");
  KvdProcess* central = StartCentral();
  TestPki stranger(dir_.Sub("stranger-pki"), "stranger CA");

  // A client with a certificate of another CA.
  tls::ClientTlsFiles foreign_client = pki->ClientFiles();
  TestPki::Files foreign = stranger.Issue("client");
  foreign_client.cert_file = foreign.cert;
  foreign_client.key_file = foreign.key;
  auto c = TlsClient(foreign_client, central->address());
  ASSERT_NE(c, nullptr);
  auto refused = c->Put("k", "v");
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();

  // A client that trusts another CA does not accept the node's certificate.
  tls::ClientTlsFiles distrustful = pki->ClientFiles();
  distrustful.ca_file = stranger.ca_file();
  auto d = TlsClient(distrustful, central->address());
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->Put("k", "v").ok());

  auto ok = TlsClient(pki->ClientFiles(), central->address())->Put("k", "v");
  ASSERT_TRUE(ok.ok()) << ok.status();

  // An edge whose certificate comes from another CA is refused by its upstream; an edge that
  // trusts only another CA refuses its upstream. Neither ever syncs.
  TestPki::Files edge_cert = stranger.Issue("edge-x");
  KvdProcess foreign_edge(
      "edge-x",
      {"edge", "--upstream", central->address(), "--data-dir", dir_.Sub("edge-x"), "--node-id",
       "edge-x", "--tls-cert", edge_cert.cert, "--tls-key", edge_cert.key, "--tls-ca",
       pki->ca_file(), "--tls-client-certs", "require"},
      dir_.path());
  // To ask it for its Status: trust its CA, present a certificate of ours (it requires one).
  tls::ClientTlsFiles to_foreign = pki->ClientFiles();
  to_foreign.ca_file = stranger.ca_file();
  foreign_edge.set_client_security(*tls::ClientChannelSecurity::Make(to_foreign));
  ASSERT_TRUE(foreign_edge.Start().ok());
  TestPki::Files ours = pki->Issue("edge-y");
  KvdProcess distrusting_edge(
      "edge-y",
      {"edge", "--upstream", central->address(), "--data-dir", dir_.Sub("edge-y"), "--node-id",
       "edge-y", "--tls-cert", ours.cert, "--tls-key", ours.key, "--tls-ca", stranger.ca_file()},
      dir_.path());
  distrusting_edge.set_client_security(pki->ClientSecurity());
  ASSERT_TRUE(distrusting_edge.Start().ok());
  for (KvdProcess* edge : {&foreign_edge, &distrusting_edge}) {
    EXPECT_TRUE(WaitFor(
        [&] {
          auto s = edge->Status();
          return s.ok() && !s->replication().last_error().empty();
        },
        absl::Seconds(20)))
        << edge->ReadLog();
    auto s = edge->Status();
    ASSERT_TRUE(s.ok());
    EXPECT_FALSE(s->replication().connected());
    EXPECT_EQ(s->head_version(), 0u);
  }
  EXPECT_EQ(StatusOf(central).downstreams_size(), 0);
  foreign_edge.Stop();
  distrusting_edge.Stop();
}

TEST_F(TlsTest, AnUpstreamWhoseCertificateNamesAnotherHostIsRefused) {
  TestPki* pki = EnableTls("require");
  CertOptions named;
  named.dns_names = {"central.kv.test"};
  named.ip_addresses = {};
  pki->Issue("central", named);  // no 127.0.0.1 in it
  KvdProcess* central = StartCentral();

  KvdProcess* wrong = StartEdge("edge-wrong", central->address());
  EXPECT_TRUE(WaitFor(
      [&] {
        auto s = wrong->Status();
        return s.ok() && !s->replication().last_error().empty();
      },
      absl::Seconds(20)));
  EXPECT_FALSE(StatusOf(wrong).replication().connected());

  KvdProcess* right = StartEdge("edge-right", central->address(), "full",
                                {"--upstream-server-name", "central.kv.test"});
  ASSERT_TRUE(WaitReady(right)) << right->ReadLog();
  tls::ClientTlsFiles files = pki->ClientFiles();
  files.server_name = "central.kv.test";
  auto put = TlsClient(files, central->address())->Put("k", "v");
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(WaitApplied(right, put->version));
  EXPECT_EQ(StatusOf(wrong).head_version(), 0u);
}

// ---- rotation ----

TEST_F(TlsTest, ARotatedCertificateIsServedWithoutAFailedRead) {
  TestPki* pki = EnableTls("require", "100ms");
  KvdProcess* central = StartCentral({"--http", "127.0.0.1:0"});
  KvdProcess* edge = StartEdge("edge-a", central->address());
  ASSERT_TRUE(WaitReady(edge));
  const tls::ClientTlsFiles files = pki->ClientFiles();
  auto writer = TlsClient(files, central->address());
  ASSERT_TRUE(writer->Put("k", "before").ok());
  const std::string old_serial = ServedSerial(*pki, central->address());
  ASSERT_THAT(old_serial, ::testing::Not(HasSubstr("error")));

  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, failures{0};
  std::string first_failure;
  absl::Mutex failure_mu;
  auto record = [&](const absl::Status& s) {
    if (s.ok()) {
      reads.fetch_add(1);
      return;
    }
    failures.fetch_add(1);
    absl::MutexLock lock(&failure_mu);
    if (first_failure.empty()) first_failure = s.ToString();
  };
  // One client on long-lived connections to both nodes, and one new client (new handshakes)
  // per read.
  std::thread steady([&] {
    auto c = TlsClient(files, central->address(), {edge->address(), central->address()});
    client::ReadOptions strong;
    strong.consistency = client::Consistency::kStrong;
    for (int i = 0; i < 1000000 && !stop.load(); ++i) {
      record(c->Get("k").status());
      record(c->Get("k", strong).status());
    }
  });
  std::thread fresh([&] {
    for (int i = 0; i < 1000000 && !stop.load(); ++i) {
      record(TlsClient(files, central->address())->Get("k").status());
    }
  });
  ASSERT_TRUE(WaitFor([&] { return reads.load() > 50; }, absl::Seconds(30)));

  // New certificates with a later expiry, for both nodes, replaced on disk.
  CertOptions later;
  later.not_after = absl::Hours(48);
  later.serial = 0x7777;
  pki->Issue("central", later);
  later.serial = 0x7778;
  pki->Issue("edge-a", later);
  EXPECT_TRUE(WaitFor([&] { return ServedSerial(*pki, central->address()) == "7777"; },
                      absl::Seconds(20), absl::Milliseconds(100)));
  EXPECT_TRUE(WaitFor([&] { return ServedSerial(*pki, central->http_address()) == "7777"; },
                      absl::Seconds(20), absl::Milliseconds(100)));
  EXPECT_TRUE(WaitFor([&] { return ServedSerial(*pki, edge->address()) == "7778"; },
                      absl::Seconds(20), absl::Milliseconds(100)));
  const int at_rotation = reads.load();
  ASSERT_TRUE(WaitFor([&] { return reads.load() > at_rotation + 50; }, absl::Seconds(30)));
  stop = true;
  steady.join();
  fresh.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;

  // The served certificate's notAfter is the new one's.
  ProbeOptions probe;
  probe.ca_pem = pki->ca().cert_pem();
  probe.client = {ReadFile(files.cert_file), ReadFile(files.key_file)};
  auto served = ServedCertificate(central->address(), probe);
  ASSERT_TRUE(served.ok());
  auto info = tls::InspectCertificate(*served);
  ASSERT_TRUE(info.ok());
  EXPECT_GT(info->not_after, absl::Now() + absl::Hours(47));
  const kvstore::v1::StatusResponse s = StatusOf(central);
  EXPECT_EQ(s.tls().cert_serial(), "7777");
  EXPECT_GE(s.tls().reloads(), 1u);
  // The replication stream kept going: a write after the rotation reaches the edge.
  auto after = writer->Put("k", "after");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(WaitApplied(edge, after->version));
}

TEST_F(TlsTest, SighupReloadsAtOnce) {
  TestPki* pki = EnableTls("require", "0");  // no watcher: only SIGHUP reloads
  KvdProcess* central = StartCentral();
  const std::string old_serial = ServedSerial(*pki, central->address());
  CertOptions next;
  next.serial = 0x8888;
  pki->Issue("central", next);
  EXPECT_EQ(StatusOf(central).tls().reloads(), 0u);
  central->Signal(SIGHUP);
  EXPECT_TRUE(WaitFor([&] { return ServedSerial(*pki, central->address()) == "8888"; },
                      absl::Seconds(20), absl::Milliseconds(100)));
  const kvstore::v1::StatusResponse s = StatusOf(central);
  EXPECT_EQ(s.tls().reloads(), 1u);
  EXPECT_EQ(s.tls().cert_serial(), "8888");
  EXPECT_FALSE(s.tls().reload_failing());
  EXPECT_THAT(central->ReadLog(), HasSubstr("received SIGHUP"));
  EXPECT_NE(old_serial, "8888");
}

TEST_F(TlsTest, ABadNewCertificateKeepsTheOldOneAndIsReported) {
  TestPki* pki = EnableTls("require", "0");
  CertOptions first;
  first.serial = 0x9001;
  pki->Issue("central", first);
  KvdProcess* central = StartCentral({"--http", "127.0.0.1:0"});
  ASSERT_EQ(ServedSerial(*pki, central->address()), "9001");

  // Expired.
  CertOptions expired;
  expired.serial = 0x9002;
  expired.not_before = -absl::Hours(48);
  expired.not_after = -absl::Hours(1);
  pki->Issue("central", expired);
  central->Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return StatusOf(central).tls().reload_failures() == 1; }));
  kvstore::v1::TlsStatus t = StatusOf(central).tls();
  EXPECT_TRUE(t.reload_failing());
  EXPECT_THAT(t.last_reload_error(), HasSubstr("expired at"));
  EXPECT_EQ(t.cert_serial(), "9001");
  std::string metrics = HttpsGet(*pki, central->http_address(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("kv_tls_reload_failures_total 1"));
  EXPECT_THAT(metrics, HasSubstr("kv_tls_reload_failing 1"));

  // A key that does not belong to the certificate.
  CertOptions other;
  other.serial = 0x9003;
  KeyCert mismatched = pki->ca().Issue(other);
  mismatched.key_pem = NewPrivateKeyPem();
  pki->Write("central", mismatched);
  central->Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return StatusOf(central).tls().reload_failures() == 2; }));
  EXPECT_THAT(StatusOf(central).tls().last_reload_error(), HasSubstr("does not belong"));
  // Still the old certificate, on both listeners, for new connections.
  EXPECT_EQ(ServedSerial(*pki, central->address()), "9001");
  EXPECT_EQ(ServedSerial(*pki, central->http_address()), "9001");
  EXPECT_TRUE(central->Status().ok());

  // A good one ends the failure.
  CertOptions good;
  good.serial = 0x9004;
  pki->Issue("central", good);
  central->Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return StatusOf(central).tls().cert_serial() == "9004"; }));
  t = StatusOf(central).tls();
  EXPECT_FALSE(t.reload_failing());
  EXPECT_EQ(t.reloads(), 1u);
  EXPECT_EQ(t.reload_failures(), 2u);
  EXPECT_TRUE(WaitFor([&] { return ServedSerial(*pki, central->address()) == "9004"; },
                      absl::Seconds(20), absl::Milliseconds(100)));
  metrics = HttpsGet(*pki, central->http_address(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("kv_tls_reload_failing 0"));
  EXPECT_THAT(metrics, HasSubstr("kv_tls_reloads_total 1"));
}

// ---- protected mode ----

TEST_F(TlsTest, AnExposedListenerNeedsTlsOrInsecure) {
  // Refused before binding anything: exit 1 with the reason.
  KvdProcess exposed("exposed",
                     {"central", "--data-dir", dir_.Sub("exposed"), "--listen", "0.0.0.0:0"},
                     dir_.path());
  absl::Status s = exposed.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("exited during start"));
  EXPECT_THAT(exposed.ReadLog(), HasSubstr("--listen 0.0.0.0:0 is reachable from other hosts"));

  KvdProcess exposed_http("exposed-http",
                          {"central", "--data-dir", dir_.Sub("exposed-http"), "--http", ":0"},
                          dir_.path());
  ASSERT_FALSE(exposed_http.Start().ok());
  EXPECT_THAT(exposed_http.ReadLog(), HasSubstr("--http :0 is reachable"));

  // --insecure: it starts, and says so.
  KvdProcess insecure(
      "insecure",
      {"central", "--data-dir", dir_.Sub("insecure"), "--listen", "0.0.0.0:0", "--insecure"},
      dir_.path());
  ASSERT_TRUE(insecure.Start().ok()) << insecure.ReadLog();
  EXPECT_TRUE(insecure.Status().ok());
  EXPECT_THAT(insecure.ReadLog(), HasSubstr("(--insecure)"));
  EXPECT_EQ(insecure.Stop(), 0);

  // With TLS it starts without --insecure.
  TestPki* pki = EnableTls("none");
  std::vector<std::string> args = {"central", "--data-dir", dir_.Sub("with-tls"), "--listen",
                                   "0.0.0.0:0"};
  for (const std::string& f : pki->NodeFlags("with-tls", "none")) args.push_back(f);
  KvdProcess with_tls("with-tls", args, dir_.path());
  tls::ClientTlsFiles server_only;
  server_only.ca_file = pki->ca_file();
  with_tls.set_client_security(*tls::ClientChannelSecurity::Make(server_only));
  ASSERT_TRUE(with_tls.Start().ok()) << with_tls.ReadLog();
  EXPECT_EQ(with_tls.Stop(), 0);
}

}  // namespace
}  // namespace kv::testing

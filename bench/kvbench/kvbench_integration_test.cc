// Runs the real kvbench binary against a real central node and one full edge: every workload
// for about two seconds, both engines, an operation budget, the lag meter, and bad input. Checks
// that the last stdout line is JSON with sane figures.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "tests/support/kvd_process.h"
#include "tests/support/temp_dir.h"

namespace kv::testing {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
  nlohmann::json json;  // the last stdout line, parsed (null when it is not JSON)
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs kvbench with `args`, killing it after `timeout`.
Outcome RunKvbench(const TempDir& dir, std::vector<std::string> args,
                   absl::Duration timeout = absl::Seconds(60)) {
  static int run = 0;
  const std::string out_path = dir.Sub(absl::StrCat("kvbench", run, ".out"));
  const std::string err_path = dir.Sub(absl::StrCat("kvbench", run++, ".err"));
  std::string binary = KVBENCH_PATH;
  std::vector<char*> argv = {binary.data()};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Outcome outcome;
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "kvbench did not finish in " << timeout;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  outcome.out = ReadFile(out_path);
  outcome.err = ReadFile(err_path);
  std::string last;
  std::istringstream lines(outcome.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) last = line;
  }
  outcome.json = nlohmann::json::parse(last, nullptr, /*allow_exceptions=*/false);
  return outcome;
}

// Percentiles in microseconds are positive and ordered.
void ExpectOrdered(const nlohmann::json& latency, const std::string& what) {
  ASSERT_TRUE(latency.is_object()) << what;
  double prev = 0;
  for (const char* p : {"p50", "p90", "p99", "p999", "max"}) {
    if (!latency.contains(p)) continue;
    const double v = latency[p].get<double>();
    EXPECT_GE(v, prev) << what << " " << p;
    prev = v;
  }
  EXPECT_GT(latency["p50"].get<double>(), 0) << what;
  EXPECT_LT(latency["p50"].get<double>(), 1e6) << what << ": p50 above one second";
}

class KvbenchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    central_ =
        new KvdProcess("central", {"central", "--data-dir", dir_->Sub("central")}, dir_->path());
    ASSERT_TRUE(central_->Start().ok()) << central_->ReadLog();
    edge_ = new KvdProcess("edge",
                           {"edge", "--mode", "full", "--upstream", central_->address(),
                            "--data-dir", dir_->Sub("edge"), "--node-id", "edge"},
                           dir_->path());
    ASSERT_TRUE(edge_->Start().ok()) << edge_->ReadLog();
    // Every key exists before the read workloads, at both nodes.
    Outcome preload = RunKvbench(*dir_, {"run", "--target", central_->address(), "--keys",
                                         absl::StrCat(kKeys), "--preload-only", "--quiet"});
    ASSERT_EQ(preload.exit_code, 0) << preload.err;
    ASSERT_EQ(preload.json.value("kvbench", ""), "preload") << preload.out;
    ASSERT_EQ(preload.json["preload"]["keys"].get<int>(), kKeys);
    const uint64_t head = central_->Status()->head_version();
    ASSERT_TRUE(WaitFor(
        [&] {
          auto s = edge_->Status();
          return s.ok() && s->head_version() >= head;
        },
        absl::Seconds(30)));
  }
  static void TearDownTestSuite() {
    delete edge_;
    delete central_;
    delete dir_;
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "---- central ----\n" << central_->ReadLog();
      std::cerr << "---- edge ----\n" << edge_->ReadLog();
    }
  }

  // A ~2 s run; returns its JSON after the common checks.
  nlohmann::json Run(const std::string& target, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "run",      "--target", target,          "--keys", absl::StrCat(kKeys), "--duration", "2s",
        "--warmup", "500ms",    "--concurrency", "16",     "--connections",     "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    Outcome o = RunKvbench(*dir_, args);
    EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
    const nlohmann::json& j = o.json;
    EXPECT_TRUE(j.is_object()) << "last line is not JSON:\n" << o.out;
    if (!j.is_object()) return j;
    EXPECT_EQ(j["kvbench"], "run");
    EXPECT_GT(j["ops"].get<uint64_t>(), 100u) << o.out;
    EXPECT_GT(j["ops_per_sec"].get<double>(), 50) << o.out;
    EXPECT_EQ(j["error_count"].get<uint64_t>(), 0u) << o.out;
    EXPECT_TRUE(j["errors"].empty()) << o.out;
    EXPECT_NEAR(j["duration_s"].get<double>(), 2.0, 0.3) << o.out;
    ExpectOrdered(j["latency_us"], o.out);
    // The human summary comes before the JSON line.
    EXPECT_NE(o.out.find("throughput"), std::string::npos) << o.out;
    return j;
  }

  static constexpr int kKeys = 2000;
  static TempDir* dir_;
  static KvdProcess* central_;
  static KvdProcess* edge_;
};

TempDir* KvbenchTest::dir_ = nullptr;
KvdProcess* KvbenchTest::central_ = nullptr;
KvdProcess* KvbenchTest::edge_ = nullptr;

TEST_F(KvbenchTest, ReadAtCentralAndEdge) {
  for (KvdProcess* node : {central_, edge_}) {
    nlohmann::json j = Run(node->address(), {"--workload", "read"});
    EXPECT_EQ(j["workload"], "read");
    EXPECT_EQ(j["not_found"].get<uint64_t>(), 0u) << node->name() << ": preloaded keys missing";
    EXPECT_EQ(j["by_op"]["get"]["ops"], j["ops"]);
  }
}

TEST_F(KvbenchTest, WriteMixedAndBatch) {
  nlohmann::json write = Run(central_->address(), {"--workload", "write", "--value-size", "1KiB"});
  EXPECT_EQ(write["by_op"]["put"]["ops"], write["ops"]);
  EXPECT_EQ(write["value_size"].get<int>(), 1024);

  nlohmann::json mixed = Run(central_->address(), {"--workload", "mixed", "--read-ratio", "0.5"});
  const double gets = mixed["by_op"]["get"]["ops"].get<double>();
  const double puts = mixed["by_op"]["put"]["ops"].get<double>();
  EXPECT_GT(gets, 0);
  EXPECT_GT(puts, 0);
  ExpectOrdered(mixed["by_op"]["put"]["latency_us"], "mixed put");

  nlohmann::json batch = Run(edge_->address(), {"--workload", "batch", "--batch-size", "20",
                                                "--distribution", "zipf", "--zipf-s", "1.1"});
  EXPECT_EQ(batch["batch_size"].get<int>(), 20);
  EXPECT_NEAR(batch["keys_read_per_sec"].get<double>() / batch["ops_per_sec"].get<double>(), 20,
              0.5);
  EXPECT_EQ(batch["not_found"].get<uint64_t>(), 0u);
}

TEST_F(KvbenchTest, CallbackEngineAndStrongReadsThroughTheEdge) {
  nlohmann::json j = Run(edge_->address(), {"--engine", "callback", "--consistency", "strong"});
  EXPECT_EQ(j["engine"], "callback");
  EXPECT_EQ(j["consistency"], "strong");
}

TEST_F(KvbenchTest, OperationBudgetIsExact) {
  Outcome o = RunKvbench(*dir_, {"run", "--target", central_->address(), "--keys", "2000", "--ops",
                                 "3000", "--warmup", "0", "--quiet", "--json"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.json["ops"].get<uint64_t>(), 3000u) << o.out;
  // --json prints the JSON line only.
  EXPECT_EQ(o.out.find("throughput"), std::string::npos) << o.out;
}

TEST_F(KvbenchTest, LagAtTheEdge) {
  Outcome o = RunKvbench(
      *dir_, {"lag", "--central", central_->address(), "--edge", edge_->address(), "--rate", "500",
              "--samples", "30", "--interval", "5ms", "--warmup", "300ms"});
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  const nlohmann::json& j = o.json;
  ASSERT_TRUE(j.is_object()) << o.out;
  EXPECT_EQ(j["kvbench"], "lag");
  ASSERT_EQ(j["edges"].size(), 1u);
  const nlohmann::json& e = j["edges"][0];
  EXPECT_EQ(e["samples"].get<int>(), 30) << o.out;
  EXPECT_EQ(e["timeouts"].get<int>(), 0);
  EXPECT_EQ(e["errors"].get<int>(), 0);
  ExpectOrdered(e["lag_us"], "lag");
  EXPECT_LE(e["lag_lower_us"]["p50"].get<double>(), e["lag_estimate_us"]["p50"].get<double>());
  EXPECT_LE(e["lag_estimate_us"]["p50"].get<double>(), e["lag_us"]["p50"].get<double>());
  EXPECT_GT(e["poll_rtt_us"]["p50"].get<double>(), 0);
  EXPECT_LT(e["lag_us"]["p50"].get<double>(), 1e6) << "half a second of lag on loopback";
  EXPECT_EQ(j["background"]["errors"].get<int>(), 0);
  EXPECT_GT(j["background"]["ok"].get<int>(), 100) << o.out;
}

TEST_F(KvbenchTest, LagFailsClearlyWhenTheEdgeDoesNotReplicate) {
  // The central node is not an edge of itself: its answers never say "edge store".
  Outcome o = RunKvbench(
      *dir_, {"lag", "--central", central_->address(), "--edge", central_->address(), "--rate", "0",
              "--samples", "1", "--warmup", "0", "--sample-timeout", "500ms", "--quiet"});
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_NE(o.err.find("did not serve"), std::string::npos) << o.err;
}

TEST_F(KvbenchTest, BadInputIsRefusedWithTheFlagNamed) {
  Outcome o = RunKvbench(*dir_, {"run", "--target", central_->address(), "--duration", "soon"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("--duration"), std::string::npos) << o.err;
  o = RunKvbench(*dir_, {"run", "--target", central_->address(), "--workload", "scan"});
  EXPECT_NE(o.exit_code, 0);
  EXPECT_NE(o.err.find("--workload"), std::string::npos) << o.err;
  // Port 1 on loopback: nothing listens there.
  o = RunKvbench(*dir_, {"run", "--target", "127.0.0.1:1", "--connect-timeout", "500ms"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("cannot connect to 127.0.0.1:1"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace kv::testing

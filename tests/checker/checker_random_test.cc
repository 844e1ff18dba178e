// Randomized tests: histories from a simulated correct store must pass; each with one thing
// corrupted must fail with the matching violation.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>

#include "tests/checker/checker.h"
#include "tests/checker/convergence.h"
#include "tests/checker/jsonl.h"
#include "tests/checker/sim_store.h"

namespace kv::checker {
namespace {

// KVCHECK_SEEDS=N runs more seeds (a longer soak for false positives).
const uint64_t kSeeds = [] {
  const char* env = std::getenv("KVCHECK_SEEDS");
  return static_cast<uint64_t>(env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 12);
}();

SimOptions Small(uint64_t seed) {
  SimOptions o;
  o.seed = seed;
  return o;
}

TEST(CheckerRandomTest, SimulatedHistoriesPass) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SimRun run = Simulate(Small(seed));
    CheckResult r = Check(run.ops, run.log);
    ASSERT_TRUE(r.ok()) << "seed " << seed << "\n" << r.Summary();
    EXPECT_GT(r.stats.reads_checked, 500u);
    EXPECT_TRUE(
        CheckConvergence("edge-0", run.final_content, ExpectedContent(run.log, &run.ops), {}, &r));
  }
}

TEST(CheckerRandomTest, SimulatedHistoriesPassUnderHeavyContention) {
  for (uint64_t seed = 100; seed < 100 + kSeeds; ++seed) {
    SimOptions o = Small(seed);
    o.keys = 2;  // every read races many writes
    o.write_fraction = 0.5;
    o.unknown_fraction = 0.15;
    o.bounds = {0, 1'000, 3'000};
    SimRun run = Simulate(o);
    CheckResult r = Check(run.ops, run.log);
    ASSERT_TRUE(r.ok()) << "seed " << seed << "\n" << r.Summary();
  }
}

TEST(CheckerRandomTest, WithoutSessionsOnlyMonotonicityMayBreak) {
  for (uint64_t seed = 200; seed < 200 + kSeeds; ++seed) {
    SimOptions o = Small(seed);
    o.sessions = false;
    SimRun run = Simulate(o);
    CheckOptions c;
    c.check_monotonic_reads = false;
    c.check_read_your_writes = false;
    CheckResult r = Check(run.ops, run.log, c);
    ASSERT_TRUE(r.ok()) << "seed " << seed << "\n" << r.Summary();
  }
}

TEST(CheckerRandomTest, DetectsEdgesIgnoringTheirBound) {
  int caught = 0;
  for (uint64_t seed = 300; seed < 300 + kSeeds; ++seed) {
    SimOptions o = Small(seed);
    o.bug_edges_ignore_bound = true;
    o.sessions = false;
    SimRun run = Simulate(o);
    CheckOptions c;
    c.check_monotonic_reads = c.check_read_your_writes = false;
    CheckResult r = Check(run.ops, run.log, c);
    caught += r.Has(ViolationKind::kStaleRead);
    EXPECT_EQ(r.total(), r.count(ViolationKind::kStaleRead)) << r.Summary();
  }
  EXPECT_GE(caught, kSeeds * 3 / 4);
}

TEST(CheckerRandomTest, DetectsClientsWithoutSessions) {
  int caught = 0;
  for (uint64_t seed = 400; seed < 400 + kSeeds; ++seed) {
    SimOptions o = Small(seed);
    o.sessions = false;
    SimRun run = Simulate(o);
    CheckResult r = Check(run.ops, run.log);
    caught += r.Has(ViolationKind::kNonMonotonic) || r.Has(ViolationKind::kReadYourWrites);
  }
  EXPECT_GE(caught, kSeeds * 3 / 4);
}

// Applies `corrupt` to a fresh correct run per seed; expects `kind` every time `corrupt` finds
// something to corrupt (and that it does so for most seeds).
void ExpectDetected(ViolationKind kind,
                    const std::function<bool(SimRun&, std::mt19937_64&)>& corrupt) {
  int corrupted = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SimRun run = Simulate(Small(seed));
    std::mt19937_64 rng(seed * 7919);
    if (!corrupt(run, rng)) continue;
    ++corrupted;
    CheckResult r = Check(run.ops, run.log);
    EXPECT_TRUE(r.Has(kind)) << "seed " << seed << ": expected " << ViolationKindName(kind) << "\n"
                             << r.Summary();
  }
  EXPECT_GE(corrupted, kSeeds / 2) << "the corruption rarely applied";
}

// Indexes of ops matching `pred`, in random order.
std::vector<size_t> Shuffled(const SimRun& run, std::mt19937_64& rng,
                             const std::function<bool(const Operation&)>& pred) {
  std::vector<size_t> out;
  for (size_t i = 0; i < run.ops.size(); ++i) {
    if (pred(run.ops[i])) out.push_back(i);
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

bool IsOkRead(const Operation& op) { return op.kind == OpKind::kGet && op.outcome == Outcome::kOk; }

// The version that replaced `version` of its key, or 0.
uint64_t NextChange(const SimRun& run, uint64_t version) {
  const std::string& key = run.log[version - 1].key;
  for (size_t v = version + 1; v <= run.log.size(); ++v) {
    if (run.log[v - 1].key == key) return v;
  }
  return 0;
}

// Makes a read return the put at `version` (a state of its key).
void ReturnVersion(const SimRun& run, Operation& op, uint64_t version) {
  op.found = true;
  op.version = version;
  op.value_hash = run.ops[run.writer[version - 1]].value_hash;
}

// A put of `key` written by a client, whose replacement was acknowledged before `deadline`.
uint64_t SupersededBefore(const SimRun& run, const std::string& key, int64_t deadline) {
  for (size_t v = run.log.size(); v >= 1; --v) {
    const LogEntry& e = run.log[v - 1];
    if (e.key != key || e.kind == ChangeKind::kDelete || run.writer[v - 1] < 0) continue;
    uint64_t next = NextChange(run, v);
    if (next == 0 || run.writer[next - 1] < 0) continue;
    const Operation& w = run.ops[run.writer[next - 1]];
    if (w.outcome == Outcome::kOk && w.complete_micros < deadline) return v;
  }
  return 0;
}

TEST(CheckerRandomTest, DetectsLostWrite) {
  ExpectDetected(ViolationKind::kLostWrite, [](SimRun& run, std::mt19937_64& rng) {
    for (size_t i : Shuffled(run, rng, [](const Operation& op) {
           return op.kind == OpKind::kPut && op.outcome == Outcome::kOk;
         })) {
      run.log.erase(run.log.begin() + (run.ops[i].version - 1));
      return true;
    }
    return false;
  });
}

TEST(CheckerRandomTest, DetectsDuplicatedWrite) {
  ExpectDetected(ViolationKind::kDuplicateWrite, [](SimRun& run, std::mt19937_64& rng) {
    for (size_t v = rng() % run.log.size(); v < run.log.size(); ++v) {
      if (run.log[v].kind != ChangeKind::kPut || run.writer[v] < 0) continue;
      LogEntry copy = run.log[v];
      copy.version = run.log.size() + 1;
      run.log.push_back(copy);
      return true;
    }
    return false;
  });
}

TEST(CheckerRandomTest, DetectsGap) {
  ExpectDetected(ViolationKind::kLogGap, [](SimRun& run, std::mt19937_64& rng) {
    run.log.erase(run.log.begin() + rng() % (run.log.size() - 1));
    return true;
  });
}

TEST(CheckerRandomTest, DetectsUnexplainedPut) {
  ExpectDetected(ViolationKind::kUnexplainedChange, [](SimRun& run, std::mt19937_64& rng) {
    run.log.push_back({run.log.size() + 1, ChangeKind::kPut, "key-0", true, rng(), 0});
    return true;
  });
}

TEST(CheckerRandomTest, DetectsStaleRead) {
  ExpectDetected(ViolationKind::kStaleRead, [](SimRun& run, std::mt19937_64& rng) {
    for (size_t i : Shuffled(run, rng, [](const Operation& op) {
           return IsOkRead(op) && !op.strong && op.bound_micros >= 0;
         })) {
      Operation& op = run.ops[i];
      uint64_t v = SupersededBefore(run, op.key, op.invoke_micros - op.bound_micros);
      if (v == 0) continue;
      ReturnVersion(run, op, v);
      return true;
    }
    return false;
  });
}

TEST(CheckerRandomTest, DetectsReadOfUnwrittenVersion) {
  ExpectDetected(ViolationKind::kFutureRead, [](SimRun& run, std::mt19937_64& rng) {
    for (size_t i : Shuffled(run, rng, IsOkRead)) {
      Operation& op = run.ops[i];
      for (size_t v = 1; v <= run.log.size(); ++v) {
        const LogEntry& e = run.log[v - 1];
        if (e.key != op.key || e.kind == ChangeKind::kDelete || run.writer[v - 1] < 0) continue;
        if (run.ops[run.writer[v - 1]].invoke_micros <= op.complete_micros) continue;
        ReturnVersion(run, op, v);
        return true;
      }
    }
    return false;
  });
}

TEST(CheckerRandomTest, DetectsStrongReadOfSupersededValue) {
  ExpectDetected(ViolationKind::kStrongRead, [](SimRun& run, std::mt19937_64& rng) {
    for (size_t i :
         Shuffled(run, rng, [](const Operation& op) { return IsOkRead(op) && op.strong; })) {
      Operation& op = run.ops[i];
      uint64_t v = SupersededBefore(run, op.key, op.invoke_micros);
      if (v == 0) continue;
      ReturnVersion(run, op, v);
      return true;
    }
    return false;
  });
}

TEST(CheckerRandomTest, DetectsReadBelowMinVersion) {
  ExpectDetected(ViolationKind::kMinVersion, [](SimRun& run, std::mt19937_64& rng) {
    for (size_t i : Shuffled(
             run, rng, [](const Operation& op) { return IsOkRead(op) && op.min_version > 1; })) {
      run.ops[i].as_of_version = run.ops[i].min_version - 1;
      return true;
    }
    return false;
  });
}

TEST(CheckerRandomTest, DetectsNonMonotonicClient) {
  ExpectDetected(ViolationKind::kNonMonotonic, [](SimRun& run, std::mt19937_64& rng) {
    // A read that saw version v of a key, then a later read of that key by the same client
    // made to return an older put of the key.
    for (size_t i :
         Shuffled(run, rng, [](const Operation& op) { return IsOkRead(op) && op.found; })) {
      const Operation& first = run.ops[i];
      for (size_t j = i + 1; j < run.ops.size() && run.ops[j].client == first.client; ++j) {
        Operation& later = run.ops[j];
        if (later.key != first.key) continue;
        if (later.kind != OpKind::kGet) break;  // its own write would make it read-your-writes
        if (!IsOkRead(later)) continue;
        for (uint64_t v = first.version - 1; v >= 1; --v) {
          const LogEntry& e = run.log[v - 1];
          if (e.key == first.key && e.kind != ChangeKind::kDelete && run.writer[v - 1] >= 0) {
            ReturnVersion(run, later, v);
            return true;
          }
        }
        break;
      }
    }
    return false;
  });
}

TEST(CheckerRandomTest, DetectsDivergedNode) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SimRun run = Simulate(Small(seed));
    std::vector<NodeEntry> want = ExpectedContent(run.log, &run.ops);
    std::vector<NodeEntry> node = run.final_content;
    ASSERT_FALSE(node.empty());
    std::mt19937_64 rng(seed);
    size_t victim = rng() % node.size();
    if (seed % 2 == 0) {
      node[victim].value_hash ^= 1;
    } else {
      node.erase(node.begin() + victim);
    }
    CheckResult r;
    EXPECT_FALSE(CheckConvergence("edge-0", node, want, {}, &r));
    EXPECT_EQ(r.count(ViolationKind::kDiverged), 1u) << r.Summary();
    EXPECT_NE(ContentDigest(node), ContentDigest(want));
  }
}

// About a million operations and half a million log entries must check in seconds.
TEST(CheckerScaleTest, MillionOperations) {
  SimOptions o;
  o.seed = 42;
  o.clients = 100;
  o.ops_per_client = 10'000;
  o.keys = 20'000;
  o.write_fraction = 0.5;
  o.sweeps = 1000;
  auto start = std::chrono::steady_clock::now();
  SimRun run = Simulate(o);
  double simulated =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  start = std::chrono::steady_clock::now();
  CheckResult r = Check(run.ops, run.log);
  double checked = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("simulated %zu ops / %zu log entries in %.2fs; checked in %.2fs\n", run.ops.size(),
              run.log.size(), simulated, checked);
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(run.ops.size(), 1'000'000u);
  EXPECT_LT(checked, 60.0);

  // KVCHECK_DUMP_DIR=/some/dir saves the run, to try kvcheck on a big input.
  if (const char* dir = std::getenv("KVCHECK_DUMP_DIR")) {
    std::string d(dir);
    ASSERT_TRUE(WriteHistoryFile(d + "/history.jsonl", run.ops).ok());
    ASSERT_TRUE(WriteLogFile(d + "/log.jsonl", run.log).ok());
    ASSERT_TRUE(WriteContentFile(d + "/edge-0.jsonl", run.final_content).ok());
  }
}

}  // namespace
}  // namespace kv::checker

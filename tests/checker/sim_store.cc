#include "tests/checker/sim_store.h"

#include <algorithm>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "tests/checker/hash.h"

namespace kv::checker {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  int64_t Uniform(int64_t lo, int64_t hi) {  // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen_);
  }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(gen_) < p; }

 private:
  std::mt19937_64 gen_;
};

// A key's states by version, for "the value at version a" lookups.
struct KeyState {
  uint64_t version = 0;
  bool present = false;
  uint64_t value_hash = 0;
};

struct Commit {
  int64_t time;
  int64_t op;  // -1 = sweep
  std::string key;
};

}  // namespace

SimRun Simulate(const SimOptions& o) {
  Rng rng(o.seed);
  SimRun run;
  std::vector<Operation>& ops = run.ops;
  std::vector<Commit> commits;

  // Pass 1: every client's calls with their timings; writes get a true commit time.
  uint64_t unique = 0;
  for (int client = 0; client < o.clients; ++client) {
    int64_t t = rng.Uniform(0, o.max_think);
    for (int n = 0; n < o.ops_per_client; ++n) {
      Operation op;
      op.client = client;
      op.key = absl::StrCat("key-", rng.Uniform(0, o.keys - 1));
      op.invoke_micros = t;
      if (rng.Chance(o.write_fraction)) {
        op.node = "central";
        op.kind = rng.Chance(o.delete_fraction) ? OpKind::kDelete : OpKind::kPut;
        if (op.kind == OpKind::kPut) {
          op.value_hash = HashValue(absl::StrCat("value-", o.seed, "-", ++unique));
        }
        int64_t commit = -1;
        if (rng.Chance(o.unknown_fraction)) {
          op.outcome = Outcome::kUnknown;
          op.error = "DEADLINE_EXCEEDED";
          op.complete_micros = t + rng.Uniform(1, 3 * o.max_commit_delay);
          if (rng.Chance(0.5)) commit = t + rng.Uniform(1, 6 * o.max_commit_delay);
        } else if (rng.Chance(o.failed_fraction)) {
          op.outcome = Outcome::kFailed;
          op.error = "FAILED_PRECONDITION";
          op.complete_micros = t + rng.Uniform(1, o.max_ack_delay);
        } else {
          commit = t + rng.Uniform(1, o.max_commit_delay);
          op.complete_micros = commit + rng.Uniform(0, o.max_ack_delay);
        }
        if (commit >= 0) commits.push_back({commit, static_cast<int64_t>(ops.size()), op.key});
      } else {
        op.kind = OpKind::kGet;
        op.strong = rng.Chance(o.strong_fraction);
        bool central = op.strong || o.edges == 0 || rng.Chance(o.central_read_fraction);
        op.node = central ? "central" : absl::StrCat("edge-", rng.Uniform(0, o.edges - 1));
        if (!op.strong) op.bound_micros = o.bounds[rng.Uniform(0, o.bounds.size() - 1)];
        op.complete_micros = t + rng.Uniform(1, 2 * o.max_ack_delay);
      }
      t = op.complete_micros + rng.Uniform(0, o.max_think);
      ops.push_back(std::move(op));
    }
  }
  int64_t end_time = 0;
  for (const Operation& op : ops) end_time = std::max(end_time, op.complete_micros);
  for (int i = 0; i < o.sweeps; ++i) {
    commits.push_back(
        {rng.Uniform(0, end_time), -1, absl::StrCat("key-", rng.Uniform(0, o.keys - 1))});
  }

  // Pass 2: the central node applies commits in time order and assigns versions.
  std::stable_sort(commits.begin(), commits.end(),
                   [](const Commit& a, const Commit& b) { return a.time < b.time; });
  absl::flat_hash_map<std::string, std::vector<KeyState>> states;
  for (const Commit& c : commits) {
    std::vector<KeyState>& history = states[c.key];
    bool present = !history.empty() && history.back().present;
    uint64_t head = run.log.size();
    Operation* op = c.op >= 0 ? &ops[c.op] : nullptr;
    bool is_delete = op == nullptr || op->kind == OpKind::kDelete;
    if (is_delete && !present) {
      if (op != nullptr && op->outcome == Outcome::kOk) op->version = head;  // no-op delete
      continue;
    }
    LogEntry e;
    e.version = head + 1;
    e.key = c.key;
    if (is_delete) {
      e.kind = ChangeKind::kDelete;
      history.push_back({e.version, false, 0});
    } else {
      bool large = rng.Chance(o.invalidate_fraction);
      e.kind = large ? ChangeKind::kInvalidate : ChangeKind::kPut;
      e.has_value_hash = !large;
      e.value_hash = large ? 0 : op->value_hash;
      if (rng.Chance(o.expiring_fraction)) e.expiration = 1'700'000'000 + rng.Uniform(1, 100);
      history.push_back({e.version, true, op->value_hash});
    }
    if (op != nullptr && op->outcome == Outcome::kOk) {
      op->version = e.version;
      op->found = is_delete;
    }
    run.log.push_back(std::move(e));
    run.commit_time.push_back(c.time);
    run.writer.push_back(c.op);
  }
  const std::vector<int64_t>& commit_time = run.commit_time;
  auto head_at = [&](int64_t t) -> uint64_t {
    return std::upper_bound(commit_time.begin(), commit_time.end(), t) - commit_time.begin();
  };
  auto state_at = [&](const std::string& key, uint64_t version) -> KeyState {
    auto it = states.find(key);
    if (it == states.end()) return {};
    const std::vector<KeyState>& h = it->second;
    auto s = std::upper_bound(h.begin(), h.end(), version,
                              [](uint64_t v, const KeyState& k) { return v < k.version; });
    return s == h.begin() ? KeyState{} : *(s - 1);
  };

  // Each edge applies version v once it has v - 1, a random lag after its commit.
  std::vector<std::vector<int64_t>> applied(o.edges);
  for (auto& a : applied) {
    int64_t last = 0;
    for (int64_t c : commit_time) {
      int64_t lag = rng.Uniform(0, o.max_apply_lag) * (rng.Chance(0.02) ? 10 : 1);
      last = std::max(last, c + lag);
      a.push_back(last);
    }
  }

  // Pass 3: reads, per client in order (sessions carry versions forward).
  std::vector<uint64_t> session(o.clients, 0);
  for (Operation& op : ops) {
    if (op.kind != OpKind::kGet) {
      if (op.outcome == Outcome::kOk && op.kind == OpKind::kPut) {
        session[op.client] = std::max(session[op.client], op.version);
      } else if (op.outcome == Outcome::kOk && op.found) {
        session[op.client] = std::max(session[op.client], op.version);
      }
      continue;
    }
    if (o.sessions) op.min_version = session[op.client];
    int64_t at = rng.Uniform(op.invoke_micros, op.complete_micros);
    uint64_t as_of = head_at(at);
    int64_t staleness = 0;
    op.source = Source::kCentral;
    if (op.node != "central") {
      const std::vector<int64_t>& a = applied[op.node.back() - '0'];
      uint64_t edge_applied = std::upper_bound(a.begin(), a.end(), at) - a.begin();
      // Fresh as of the commit of the first version it lacks (or now, if it lacks none).
      int64_t fresh = edge_applied < as_of ? commit_time[edge_applied] : at;
      int64_t edge_staleness = at - fresh + rng.Uniform(0, 100);
      if (o.bug_edges_ignore_bound) edge_staleness = 0;
      if (edge_staleness <= op.bound_micros && edge_applied >= op.min_version) {
        as_of = edge_applied;
        staleness = edge_staleness;
        op.source = Source::kEdgeStore;
      } else {
        op.source = Source::kUpstream;
      }
    }
    KeyState s = state_at(op.key, as_of);
    op.found = s.present;
    op.version = s.present ? s.version : 0;
    op.value_hash = s.present ? s.value_hash : 0;
    op.as_of_version = as_of;
    op.staleness_micros = staleness;
    if (rng.Chance(0.01)) {  // a read that timed out: nothing recorded
      op.outcome = Outcome::kUnknown;
      op.found = false;
      op.version = op.as_of_version = op.value_hash = 0;
      op.staleness_micros = -1;
      continue;
    }
    session[op.client] = std::max(session[op.client], as_of);
  }
  run.final_content = ExpectedContent(run.log, &ops);
  return run;
}

}  // namespace kv::checker

#include "bench/kvbench/neighbours.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "bench/kvbench/connections.h"
#include "common/units.h"
#include "kvstore/v1/kv.grpc.pb.h"

namespace kv::kvbench {
namespace {

using Stub = kvstore::v1::KV::Stub;

std::string SmallKey(const NeighboursOptions& o, uint64_t i) {
  return absl::StrFormat("%s%09d", o.key_prefix, i);
}
// Sorts right after SmallKey(i) ('~' is after every digit) and before SmallKey(i + 1).
std::string BesideKey(const NeighboursOptions& o, uint64_t i) { return SmallKey(o, i) + "~large"; }
// Sorts after every small key.
std::string FarKey(const NeighboursOptions& o, int j) {
  return absl::StrCat(o.key_prefix.substr(0, o.key_prefix.size() - 1), "~far/", j);
}
// The small key each large value follows.
uint64_t LargePosition(const NeighboursOptions& o, int j) {
  return (j + 1) * o.keys / (o.large_values + 1);
}

absl::Status Put(Stub* stub, const std::string& key, const std::string& value) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  kvstore::v1::PutRequest request;
  request.set_key(key);
  request.set_value(value);
  kvstore::v1::PutResponse response;
  grpc::Status s = stub->Put(&ctx, request, &response);
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("put ", key, ": ", s.error_message()));
  return absl::OkStatus();
}

std::string RandomValue(uint64_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string v(size, '\0');
  for (auto& c : v) c = static_cast<char>('a' + rng() % 26);
  return v;
}

// The same small keys on both nodes; the large values beside them on `with`, far on `without`.
absl::Status Load(const NeighboursOptions& o, Stub* with, Stub* without) {
  const std::string small = RandomValue(o.value_size, 1);
  for (Stub* stub : {with, without}) {
    for (uint64_t i = 0; i < o.keys; ++i) {
      if (auto s = Put(stub, SmallKey(o, i), small); !s.ok()) return s;
    }
  }
  for (int j = 0; j < o.large_values; ++j) {
    const std::string large = RandomValue(o.large_size, 100 + j);
    if (auto s = Put(with, BesideKey(o, LargePosition(o, j)), large); !s.ok()) return s;
    if (auto s = Put(without, FarKey(o, j), large); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// The small keys read: `neighbours` before each large value's position (inclusive) and one after.
std::vector<std::string> ReadSet(const NeighboursOptions& o) {
  std::vector<std::string> keys;
  for (int j = 0; j < o.large_values; ++j) {
    const uint64_t p = LargePosition(o, j);
    const uint64_t first = p + 1 >= static_cast<uint64_t>(o.neighbours) ? p + 1 - o.neighbours : 0;
    for (uint64_t i = first; i <= std::min(p + 1, o.keys - 1); ++i) keys.push_back(SmallKey(o, i));
  }
  return keys;
}

struct RoundResult {
  Histogram latency{7};
  uint64_t errors = 0;
  std::string first_error;
};

// `concurrency` threads read `keys` from `stubs` for `time`; latency in nanoseconds.
RoundResult ReadRound(const std::vector<std::unique_ptr<Stub>>& stubs,
                      const std::vector<std::string>& keys, absl::Duration time, uint64_t seed) {
  RoundResult result;
  absl::Mutex mu;
  std::vector<std::thread> threads;
  const auto end = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(time);
  for (size_t t = 0; t < stubs.size(); ++t) {
    threads.emplace_back([&, t] {
      Histogram local(7);
      uint64_t errors = 0;
      std::string first_error;
      std::mt19937_64 rng(seed * 1000 + t);
      kvstore::v1::GetRequest request;
      kvstore::v1::GetResponse response;
      while (std::chrono::steady_clock::now() < end) {
        request.set_key(keys[rng() % keys.size()]);
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        const auto start = std::chrono::steady_clock::now();
        grpc::Status s = stubs[t]->Get(&ctx, request, &response);
        const auto took = std::chrono::steady_clock::now() - start;
        if (s.ok() && response.found()) {
          local.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
        } else {
          ++errors;
          if (first_error.empty()) {
            first_error = s.ok() ? "not found: " + request.key() : s.error_message();
          }
        }
      }
      absl::MutexLock l(&mu);
      result.latency.Merge(local);
      result.errors += errors;
      if (result.first_error.empty()) result.first_error = first_error;
    });
  }
  for (auto& t : threads) t.join();
  return result;
}

absl::StatusOr<std::vector<std::unique_ptr<Stub>>> Stubs(const std::string& target, int n,
                                                         int first_index) {
  std::vector<std::unique_ptr<Stub>> stubs;
  for (int i = 0; i < n; ++i) {
    auto channel = NewDistinctChannel(target, first_index + i);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      return absl::UnavailableError(absl::StrCat("cannot connect to ", target));
    }
    stubs.push_back(kvstore::v1::KV::NewStub(channel));
  }
  return stubs;
}

double Ms(uint64_t nanos) { return nanos / 1e6; }

}  // namespace

absl::StatusOr<NeighboursOptions> NeighboursFlags::Resolve() const {
  NeighboursOptions o;
  if (with.empty() || without.empty()) {
    return absl::InvalidArgumentError("--with and --without are required (HOST:PORT)");
  }
  o.with = with;
  o.without = without;
  if (keys < 10) return absl::InvalidArgumentError("--keys must be at least 10");
  o.keys = keys;
  auto vs = ParseByteSize(value_size);
  if (!vs.ok())
    return absl::InvalidArgumentError(absl::StrCat("--value-size: ", vs.status().message()));
  o.value_size = *vs;
  auto ls = ParseByteSize(large_size);
  if (!ls.ok())
    return absl::InvalidArgumentError(absl::StrCat("--large-size: ", ls.status().message()));
  o.large_size = *ls;
  if (large_values < 1 || static_cast<uint64_t>(large_values) >= keys) {
    return absl::InvalidArgumentError("--large-values must be 1..keys-1");
  }
  o.large_values = large_values;
  if (neighbours < 1) return absl::InvalidArgumentError("--neighbours must be at least 1");
  o.neighbours = neighbours;
  if (rounds < 1) return absl::InvalidArgumentError("--rounds must be at least 1");
  o.rounds = rounds;
  auto rt = ParseDurationFlag(round_time);
  if (!rt.ok() || *rt <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--round-time must be a positive duration");
  }
  o.round_time = *rt;
  if (concurrency < 1) return absl::InvalidArgumentError("--concurrency must be at least 1");
  o.concurrency = concurrency;
  auto st = ParseDurationFlag(settle);
  if (!st.ok())
    return absl::InvalidArgumentError(absl::StrCat("--settle: ", st.status().message()));
  o.settle = *st;
  if (key_prefix.empty()) return absl::InvalidArgumentError("--key-prefix must not be empty");
  o.key_prefix = key_prefix;
  o.max_ratio = max_ratio;
  o.json_only = json_only;
  return o;
}

CLI::App* AddNeighboursCommand(CLI::App* app, NeighboursFlags* f) {
  CLI::App* cmd = app->add_subcommand(
      "neighbours",
      "Latency of small reads beside large values, against a control node where the large "
      "values are far from them (same run, alternating rounds, a ratio)");
  cmd->add_option("--with", f->with, "node that gets the large values beside small keys")
      ->required();
  cmd->add_option("--without", f->without, "control node: the large values sort after them")
      ->required();
  cmd->add_option("--keys", f->keys, "small keys on each node")->capture_default_str();
  cmd->add_option("--value-size", f->value_size, "size of the small values")->capture_default_str();
  cmd->add_option("--large-values", f->large_values, "large values on each node")
      ->capture_default_str();
  cmd->add_option("--large-size", f->large_size, "size of each large value")->capture_default_str();
  cmd->add_option("--neighbours", f->neighbours,
                  "small keys read before each large value (plus the one after it)")
      ->capture_default_str();
  cmd->add_option("--rounds", f->rounds, "measurement rounds; each reads both nodes in turn")
      ->capture_default_str();
  cmd->add_option("--round-time", f->round_time, "reading time per node per round")
      ->capture_default_str();
  cmd->add_option("--concurrency", f->concurrency, "reader threads (one connection each)")
      ->capture_default_str();
  cmd->add_option("--settle", f->settle, "pause after loading, for the memtables to be flushed")
      ->capture_default_str();
  cmd->add_option("--key-prefix", f->key_prefix, "prefix of every key written")
      ->capture_default_str();
  cmd->add_option("--max-ratio", f->max_ratio, "exit 3 when the median round ratio exceeds this")
      ->capture_default_str();
  cmd->add_flag("--json", f->json_only, "print only the JSON line");
  return cmd;
}

absl::StatusOr<NeighboursReport> RunNeighbours(const NeighboursOptions& o) {
  auto with = Stubs(o.with, o.concurrency, 0);
  if (!with.ok()) return with.status();
  auto without = Stubs(o.without, o.concurrency, 1000);
  if (!without.ok()) return without.status();
  if (auto s = Load(o, (*with)[0].get(), (*without)[0].get()); !s.ok()) return s;
  absl::SleepFor(o.settle);
  const std::vector<std::string> keys = ReadSet(o);

  NeighboursReport report;
  std::vector<double> round_ratios;
  // One warm-up round each (block cache, connections), not counted.
  ReadRound(*with, keys, o.round_time / 2, 0);
  ReadRound(*without, keys, o.round_time / 2, 0);
  for (int r = 0; r < o.rounds; ++r) {
    RoundResult a, b;
    if (r % 2 == 0) {
      a = ReadRound(*with, keys, o.round_time, r + 1);
      b = ReadRound(*without, keys, o.round_time, r + 1);
    } else {
      b = ReadRound(*without, keys, o.round_time, r + 1);
      a = ReadRound(*with, keys, o.round_time, r + 1);
    }
    for (RoundResult* x : {&a, &b}) {
      report.errors += x->errors;
      if (report.first_error.empty()) report.first_error = x->first_error;
    }
    if (!o.json_only) {
      std::fprintf(stderr, "round %d: p50 with %.3f ms, without %.3f ms\n", r + 1,
                   Ms(a.latency.ValueAtQuantile(0.5)), Ms(b.latency.ValueAtQuantile(0.5)));
    }
    if (b.latency.ValueAtQuantile(0.5) > 0) {
      round_ratios.push_back(static_cast<double>(a.latency.ValueAtQuantile(0.5)) /
                             static_cast<double>(b.latency.ValueAtQuantile(0.5)));
    }
    report.with.Merge(a.latency);
    report.without.Merge(b.latency);
  }
  std::sort(round_ratios.begin(), round_ratios.end());
  if (!round_ratios.empty()) report.median_round_ratio = round_ratios[round_ratios.size() / 2];
  if (report.without.count() > 0) {
    report.p50_ratio = static_cast<double>(report.with.ValueAtQuantile(0.5)) /
                       static_cast<double>(report.without.ValueAtQuantile(0.5));
    report.mean_ratio = report.with.mean() / report.without.mean();
  }
  return report;
}

std::string NeighboursText(const NeighboursOptions& o, const NeighboursReport& r) {
  auto line = [](const char* name, const Histogram& h) {
    return absl::StrFormat(
        "  %-8s %8llu reads  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  mean %.3f ms\n", name,
        static_cast<unsigned long long>(h.count()), Ms(h.ValueAtQuantile(0.5)),
        Ms(h.ValueAtQuantile(0.9)), Ms(h.ValueAtQuantile(0.99)),
        Ms(static_cast<uint64_t>(h.mean())));
  };
  std::string text = absl::StrFormat(
      "kvbench neighbours: %llu small keys of %llu B; %d values of %s beside them on %s, far "
      "from them on %s\n  reading %d keys around the large values, %d threads, %d rounds of %s "
      "per node\n",
      static_cast<unsigned long long>(o.keys), static_cast<unsigned long long>(o.value_size),
      o.large_values, FormatByteSize(o.large_size), o.with, o.without,
      static_cast<int>(ReadSet(o).size()), o.concurrency, o.rounds,
      absl::FormatDuration(o.round_time));
  text += line("with", r.with);
  text += line("without", r.without);
  text += absl::StrFormat(
      "ratio with/without: p50 %.3f, mean %.3f, median of the rounds' p50 ratios %.3f (limit "
      "%.2f: %s)\n",
      r.p50_ratio, r.mean_ratio, r.median_round_ratio, o.max_ratio,
      r.median_round_ratio <= o.max_ratio ? "met" : "MISSED");
  if (r.errors > 0) {
    text += absl::StrFormat("errors   %llu (first: %s)\n",
                            static_cast<unsigned long long>(r.errors), r.first_error);
  }
  return text;
}

nlohmann::json NeighboursJson(const NeighboursOptions& o, const NeighboursReport& r) {
  auto hist = [](const Histogram& h) {
    return nlohmann::json{{"reads", h.count()},
                          {"p50_ms", Ms(h.ValueAtQuantile(0.5))},
                          {"p90_ms", Ms(h.ValueAtQuantile(0.9))},
                          {"p99_ms", Ms(h.ValueAtQuantile(0.99))},
                          {"mean_ms", h.mean() / 1e6}};
  };
  return {{"kvbench", "neighbours"},
          {"keys", o.keys},
          {"value_size", o.value_size},
          {"large_values", o.large_values},
          {"large_size", o.large_size},
          {"read_keys", ReadSet(o).size()},
          {"concurrency", o.concurrency},
          {"rounds", o.rounds},
          {"round_s", absl::ToDoubleSeconds(o.round_time)},
          {"with", hist(r.with)},
          {"without", hist(r.without)},
          {"p50_ratio", r.p50_ratio},
          {"mean_ratio", r.mean_ratio},
          {"median_round_ratio", r.median_round_ratio},
          {"max_ratio", o.max_ratio},
          {"errors", r.errors}};
}

}  // namespace kv::kvbench

#pragma once
// `kvbench neighbours`: how much slower reads of small keys get when large values sort right
// next to them. Two nodes get the same small keys and the same large values: on `--with` each
// large value sits right after a small key, on `--without` (the control) the large values sort
// after every small key. Then the small keys beside the large values are read from both, in
// alternating rounds so that noise on a shared machine hits both alike, and the report gives
// each node's latencies and the ratio with/without (docs/kvbench.md, docs/BENCHMARKS.md).
//
// Not thread-safe itself: Run drives its own reader threads and joins them.

#include <cstdint>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/kvbench/histogram.h"
#include "nlohmann/json.hpp"

namespace kv::kvbench {

struct NeighboursOptions {
  std::string with;     // HOST:PORT of the node that gets large values beside small keys
  std::string without;  // HOST:PORT of the control node (large values far from them)
  uint64_t keys = 2000;
  uint64_t value_size = 100;
  int large_values = 8;
  uint64_t large_size = 25ull << 20;
  // Small keys read around each large value: this many sorting before it and one after.
  int neighbours = 16;
  int rounds = 10;
  absl::Duration round_time = absl::Seconds(1);
  int concurrency = 4;
  // Pause after the writes, for the memtables holding them to be flushed.
  absl::Duration settle = absl::Seconds(5);
  std::string key_prefix = "nb/";
  double max_ratio = 1.2;
  bool json_only = false;
};

// Flags as typed (units parsed by Resolve).
struct NeighboursFlags {
  std::string with, without;
  uint64_t keys = 2000;
  std::string value_size = "100";
  int large_values = 8;
  std::string large_size = "25MiB";
  int neighbours = 16;
  int rounds = 10;
  std::string round_time = "1s";
  int concurrency = 4;
  std::string settle = "5s";
  std::string key_prefix = "nb/";
  double max_ratio = 1.2;
  bool json_only = false;

  absl::StatusOr<NeighboursOptions> Resolve() const;
};

// Adds the `neighbours` subcommand to `app`.
CLI::App* AddNeighboursCommand(CLI::App* app, NeighboursFlags* flags);

struct NeighboursReport {
  Histogram with{7};
  Histogram without{7};
  // Median over rounds of (p50 with / p50 without) measured in the same round.
  double median_round_ratio = 0;
  double p50_ratio = 0;
  double mean_ratio = 0;
  uint64_t errors = 0;
  std::string first_error;
};

absl::StatusOr<NeighboursReport> RunNeighbours(const NeighboursOptions& options);
std::string NeighboursText(const NeighboursOptions& options, const NeighboursReport& report);
nlohmann::json NeighboursJson(const NeighboursOptions& options, const NeighboursReport& report);

}  // namespace kv::kvbench

#pragma once
// One load run from start to finish: connect, optionally preload, warm up, measure, drain.
// Progress goes to stderr; the caller prints the report.

#include <array>

#include "absl/status/statusor.h"
#include "bench/kvbench/options.h"
#include "bench/kvbench/recorder.h"

namespace kv::kvbench {

// The 1, 5 and 15 minute load averages from /proc/loadavg (zeros if unreadable).
std::array<double, 3> LoadAverage();

struct LoadReport {
  // False after a preload-only run: `measurement` is empty.
  bool measured = false;
  Measurement measurement;
  // Preload: keys written and how long it took (0 when there was none).
  uint64_t preloaded_keys = 0;
  double preload_seconds = 0;
  // CPU time kvbench itself used during the measured phase (user + system, all threads): the
  // share of the machine the load generator takes from the server on the same box.
  double client_cpu_seconds = 0;
  std::array<double, 3> load_average_before{};
  std::array<double, 3> load_average_after{};
};

// Fails when no connection can be made or the preload has errors; errors during the measured
// phase are reported in the result, not as a failure. `measure` = false stops after the preload.
absl::StatusOr<LoadReport> RunLoad(const LoadOptions& options, bool measure = true);

}  // namespace kv::kvbench

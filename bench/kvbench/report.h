#pragma once
// The results of a load run, for people (a short summary) and for scripts (one JSON line with
// the same figures; it is always the last line kvbench prints).

#include <string>

#include "bench/kvbench/histogram.h"
#include "bench/kvbench/options.h"
#include "bench/kvbench/runner.h"
#include "nlohmann/json.hpp"

namespace kv::kvbench {

// {"p50": .., "p90": .., "p99": .., "p999": .., "max": .., "min": .., "mean": ..} in
// microseconds (with 0.1 us resolution) from a histogram of nanoseconds.
nlohmann::json LatencyJson(const Histogram& ns);
// "p50 812.3  p90 1,234.5 ..." in microseconds.
std::string LatencyText(const Histogram& ns);

std::string ConsistencyName(const kvstore::v1::ReadOptions& options);

nlohmann::json LoadReportJson(const LoadOptions& options, const LoadReport& report);
std::string LoadReportText(const LoadOptions& options, const LoadReport& report);

}  // namespace kv::kvbench

#include "bench/kvbench/report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"

namespace kv::kvbench {
namespace {

double Micros(uint64_t ns) { return std::round(ns / 100.0) / 10.0; }

std::string Uint(uint64_t v) {
  std::string digits = absl::StrCat(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

nlohmann::json LoadAverageJson(const std::array<double, 3>& a) { return {a[0], a[1], a[2]}; }

}  // namespace

nlohmann::json LatencyJson(const Histogram& ns) {
  return {{"p50", Micros(ns.ValueAtQuantile(0.5))},
          {"p90", Micros(ns.ValueAtQuantile(0.9))},
          {"p99", Micros(ns.ValueAtQuantile(0.99))},
          {"p999", Micros(ns.ValueAtQuantile(0.999))},
          {"max", Micros(ns.max())},
          {"min", Micros(ns.min())},
          {"mean", std::round(ns.mean() / 100.0) / 10.0}};
}

std::string LatencyText(const Histogram& ns) {
  auto us = [](uint64_t v) { return absl::StrFormat("%.1f", v / 1000.0); };
  return absl::StrCat("p50 ", us(ns.ValueAtQuantile(0.5)), "  p90 ", us(ns.ValueAtQuantile(0.9)),
                      "  p99 ", us(ns.ValueAtQuantile(0.99)), "  p99.9 ",
                      us(ns.ValueAtQuantile(0.999)), "  max ", us(ns.max()), "  mean ",
                      absl::StrFormat("%.1f", ns.mean() / 1000.0));
}

std::string ConsistencyName(const kvstore::v1::ReadOptions& options) {
  return options.consistency() == kvstore::v1::CONSISTENCY_STRONG ? "strong" : "bounded";
}

nlohmann::json LoadReportJson(const LoadOptions& options, const LoadReport& report) {
  if (!report.measured) {
    return {{"kvbench", "preload"},
            {"targets", options.connection.targets},
            {"keys", options.keys.keys},
            {"value_size", options.value_size},
            {"preload", {{"keys", report.preloaded_keys}, {"seconds", report.preload_seconds}}},
            {"loadavg_before", LoadAverageJson(report.load_average_before)},
            {"loadavg_after", LoadAverageJson(report.load_average_after)}};
  }
  const Measurement& m = report.measurement;
  const ConnectionOptions& c = options.connection;
  const double seconds = std::max(m.seconds, 1e-9);
  nlohmann::json j = {
      {"kvbench", report.measured ? "run" : "preload"},
      {"workload", WorkloadName(options.workload)},
      {"engine", EngineName(c.engine)},
      {"targets", c.targets},
      {"connections", c.connections},
      {"concurrency", c.concurrency},
      {"threads", c.engine == EngineKind::kCompletionQueue ? c.threads : 0},
      {"keys", options.keys.keys},
      {"distribution", options.keys.distribution == Distribution::kZipf ? "zipf" : "uniform"},
      {"value_size", options.value_size},
      {"consistency", ConsistencyName(options.read_options)},
      {"warmup_s", absl::ToDoubleSeconds(options.warmup)},
      {"duration_s", std::round(m.seconds * 1000) / 1000},
      {"ops", m.ok_ops},
      {"ops_per_sec", std::round(m.ok_ops / seconds)},
      {"keys_read_per_sec", std::round(m.keys_read / seconds)},
      {"not_found", m.not_found},
      {"latency_us", LatencyJson(m.all_ns)},
      {"histogram_relative_error", m.all_ns.relative_error()},
      {"error_count", m.error_count()},
      {"client_cpu",
       {{"cores", std::round(100 * report.client_cpu_seconds / seconds) / 100},
        {"us_per_op",
         m.ok_ops == 0 ? 0.0 : std::round(10 * 1e6 * report.client_cpu_seconds / m.ok_ops) / 10}}},
      {"loadavg_before", LoadAverageJson(report.load_average_before)},
      {"loadavg_after", LoadAverageJson(report.load_average_after)},
  };
  if (options.keys.distribution == Distribution::kZipf) j["zipf_s"] = options.keys.zipf_s;
  if (options.workload == Workload::kMixed) j["read_ratio"] = options.read_ratio;
  if (options.workload == Workload::kBatch) j["batch_size"] = options.batch_size;
  if (options.preload) {
    j["preload"] = {{"keys", report.preloaded_keys}, {"seconds", report.preload_seconds}};
  }
  nlohmann::json by_op = nlohmann::json::object();
  for (int k = 0; k < kOpKinds; ++k) {
    const Histogram& h = m.latency_ns[k];
    if (h.count() == 0) continue;
    by_op[OpKindName(static_cast<OpKind>(k))] = {{"ops", h.count()},
                                                 {"ops_per_sec", std::round(h.count() / seconds)},
                                                 {"latency_us", LatencyJson(h)}};
  }
  j["by_op"] = by_op;
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [code, n] : m.errors) errors[GrpcCodeName(code)] = n;
  j["errors"] = errors;
  return j;
}

std::string LoadReportText(const LoadOptions& options, const LoadReport& report) {
  const Measurement& m = report.measurement;
  const ConnectionOptions& c = options.connection;
  const double seconds = std::max(m.seconds, 1e-9);
  std::string out;
  absl::StrAppend(&out, "kvbench ", report.measured ? WorkloadName(options.workload) : "preload",
                  " against ", absl::StrJoin(c.targets, ", "), "\n");
  absl::StrAppend(&out, "  ", c.connections, " connections, ", c.concurrency,
                  " requests in flight, engine ", EngineName(c.engine),
                  c.engine == EngineKind::kCompletionQueue
                      ? absl::StrCat(" (", c.threads, c.threads == 1 ? " thread)" : " threads)")
                      : "",
                  "\n");
  absl::StrAppend(&out, "  ", Uint(options.keys.keys), " keys ",
                  options.keys.distribution == Distribution::kZipf
                      ? absl::StrFormat("zipf(%.2f)", options.keys.zipf_s)
                      : "uniform",
                  ", values ", options.value_size, " B, reads ",
                  ConsistencyName(options.read_options));
  if (options.workload == Workload::kMixed)
    absl::StrAppend(&out, ", read ratio ", options.read_ratio);
  if (options.workload == Workload::kBatch) absl::StrAppend(&out, ", batch ", options.batch_size);
  absl::StrAppend(&out, "\n");
  if (options.preload) {
    absl::StrAppendFormat(&out, "  preloaded %s keys in %.1f s\n", Uint(report.preloaded_keys),
                          report.preload_seconds);
  }
  const auto& a = report.load_average_before;
  const auto& b = report.load_average_after;
  std::string load_line =
      absl::StrFormat("load avg    %.2f %.2f %.2f before, %.2f %.2f %.2f after\n", a[0], a[1], a[2],
                      b[0], b[1], b[2]);
  if (!report.measured) return out + load_line;
  absl::StrAppendFormat(&out, "  measured %.2f s after %s warm-up\n", m.seconds,
                        absl::FormatDuration(options.warmup));
  absl::StrAppendFormat(&out, "throughput  %s ops/s (%s ops)",
                        Uint(std::llround(m.ok_ops / seconds)), Uint(m.ok_ops));
  if (options.workload == Workload::kBatch) {
    absl::StrAppendFormat(&out, ", %s keys/s", Uint(std::llround(m.keys_read / seconds)));
  }
  absl::StrAppend(&out, "\nlatency us  ", LatencyText(m.all_ns), "\n");
  for (int k = 0; k < kOpKinds && options.workload == Workload::kMixed; ++k) {
    const Histogram& h = m.latency_ns[k];
    if (h.count() == 0) continue;
    absl::StrAppendFormat(&out, "  %-9s %s ops/s  %s\n", OpKindName(static_cast<OpKind>(k)),
                          Uint(std::llround(h.count() / seconds)), LatencyText(h));
  }
  if (m.keys_read > 0) {
    absl::StrAppendFormat(&out, "not found   %s of %s keys read\n", Uint(m.not_found),
                          Uint(m.keys_read));
  }
  if (m.errors.empty()) {
    absl::StrAppend(&out, "errors      none\n");
  } else {
    for (const auto& [code, n] : m.errors) {
      absl::StrAppendFormat(&out, "errors      %s %s (first: %s)\n", GrpcCodeName(code), Uint(n),
                            m.first_error.at(code));
    }
  }
  absl::StrAppendFormat(&out, "kvbench cpu %.2f cores, %.1f us per op\n",
                        report.client_cpu_seconds / seconds,
                        m.ok_ops == 0 ? 0.0 : 1e6 * report.client_cpu_seconds / m.ok_ops);
  return out + load_line;
}

}  // namespace kv::kvbench

// Reports of `kvbench lag`: a table per edge for people, one JSON line for scripts.

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/kvbench/lag.h"
#include "bench/kvbench/report.h"

namespace kv::kvbench {
namespace {

nlohmann::json Percentiles(const Histogram& ns) {
  auto us = [](uint64_t v) { return std::round(v / 100.0) / 10.0; };
  return {{"p50", us(ns.ValueAtQuantile(0.5))},
          {"p90", us(ns.ValueAtQuantile(0.9))},
          {"p99", us(ns.ValueAtQuantile(0.99))},
          {"max", us(ns.max())},
          {"mean", std::round(ns.mean() / 100.0) / 10.0}};
}

}  // namespace

nlohmann::json LagReportJson(const LagOptions& options, const LagReport& report) {
  const PacedWriterStats& bg = report.background;
  nlohmann::json edges = nlohmann::json::array();
  for (const EdgeLag& e : report.edges) {
    edges.push_back(
        {{"target", e.target},
         {"samples", e.samples},
         {"timeouts", e.timeouts},
         {"lag_us", Percentiles(e.lag_ns)},
         {"lag_lower_us", Percentiles(e.lag_lower_ns)},
         {"lag_estimate_us", Percentiles(e.lag_mid_ns)},
         {"poll_rtt_us", Percentiles(e.poll_rtt_ns)},
         {"polls_per_sample", e.samples + e.timeouts == 0
                                  ? 0.0
                                  : std::round(10.0 * e.polls / (e.samples + e.timeouts)) / 10.0},
         {"forwarded", e.forwarded},
         {"errors", e.errors}});
  }
  const double bg_seconds = std::max(bg.seconds, 1e-9);
  return {
      {"kvbench", "lag"},
      {"central", options.central},
      {"samples", options.samples},
      {"interval_ms", absl::ToDoubleMilliseconds(options.interval)},
      {"edges", edges},
      {"probe_put_us", Percentiles(report.probe_put_ns)},
      {"probe_errors", report.probe_errors},
      {"background",
       {{"rate", options.background.rate},
        {"achieved_rate", std::round(bg.ok / bg_seconds)},
        {"value_size", options.background.value_size},
        {"ok", bg.ok},
        {"errors", bg.errors},
        {"skipped", bg.skipped},
        {"latency_us", Percentiles(bg.latency_ns)}}},
      {"loadavg_before",
       {report.load_average_before[0], report.load_average_before[1],
        report.load_average_before[2]}},
      {"loadavg_after",
       {report.load_average_after[0], report.load_average_after[1], report.load_average_after[2]}}};
}

std::string LagReportText(const LagOptions& options, const LagReport& report) {
  const PacedWriterStats& bg = report.background;
  auto us = [](uint64_t ns) { return absl::StrFormat("%.1f", ns / 1e3); };
  std::string out =
      absl::StrCat("kvbench lag: writes at ", options.central, ", ", options.samples, " probes\n");
  absl::StrAppendFormat(&out,
                        "  background %.0f writes/s asked, %.0f acknowledged/s, %d errors, %d "
                        "skipped; due->ack p50 %s us p99 %s us\n",
                        options.background.rate, bg.ok / std::max(bg.seconds, 1e-9), bg.errors,
                        bg.skipped, us(bg.latency_ns.ValueAtQuantile(0.5)),
                        us(bg.latency_ns.ValueAtQuantile(0.99)));
  absl::StrAppendFormat(&out, "  probe write p50 %s us p99 %s us, %d failed%s\n",
                        us(report.probe_put_ns.ValueAtQuantile(0.5)),
                        us(report.probe_put_ns.ValueAtQuantile(0.99)), report.probe_errors,
                        report.probe_first_error.empty()
                            ? ""
                            : absl::StrCat(" (first: ", report.probe_first_error, ")"));
  absl::StrAppend(&out, "ack -> visible at each edge, microseconds\n");
  auto row = [&](const char* what, const Histogram& h) {
    absl::StrAppendFormat(&out, "    %-12s p50 %9s  p90 %9s  p99 %9s  max %9s\n", what,
                          us(h.ValueAtQuantile(0.5)), us(h.ValueAtQuantile(0.9)),
                          us(h.ValueAtQuantile(0.99)), us(h.max()));
  };
  for (const EdgeLag& e : report.edges) {
    absl::StrAppendFormat(&out, "  %s\n", e.target);
    row("upper bound", e.lag_ns);
    row("estimate", e.lag_mid_ns);
    row("lower bound", e.lag_lower_ns);
    absl::StrAppendFormat(
        &out,
        "    %d samples, %d timeouts, %.1f polls/sample, poll rtt p50 %s us p99 %s us, "
        "%d forwarded, %d errors%s\n",
        e.samples, e.timeouts,
        e.samples + e.timeouts == 0 ? 0.0 : 1.0 * e.polls / (e.samples + e.timeouts),
        us(e.poll_rtt_ns.ValueAtQuantile(0.5)), us(e.poll_rtt_ns.ValueAtQuantile(0.99)),
        e.forwarded, e.errors,
        e.first_error.empty() ? "" : absl::StrCat(" (first: ", e.first_error, ")"));
  }
  const auto& a = report.load_average_before;
  const auto& b = report.load_average_after;
  absl::StrAppendFormat(&out, "load avg    %.2f %.2f %.2f before, %.2f %.2f %.2f after\n", a[0],
                        a[1], a[2], b[0], b[1], b[2]);
  return out;
}

}  // namespace kv::kvbench

#include "bench/kvbench/runner.h"

#include <sys/resource.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/kvbench/connections.h"
#include "bench/kvbench/engine.h"
#include "common/grpc_status.h"

namespace kv::kvbench {
namespace {

// Progress lines go to stderr so stdout stays the report.
class Progress {
 public:
  explicit Progress(const LoadOptions& options) : enabled_(options.progress) {}

  // "[  2.0s] measure  41,234 ops/s  errors 0"
  void Tick(const char* phase, const Recorder& recorder, const std::string& extra = "") {
    const int64_t now = NowNanos();
    const uint64_t done = recorder.completed();
    if (enabled_ && last_ns_ != 0) {
      const double rate = (done - last_done_) / ((now - last_ns_) / 1e9);
      std::fprintf(stderr, "[%6.1fs] %-8s %12s ops/s  errors %llu%s\n", (now - begin_ns_) / 1e9,
                   phase, absl::StrFormat("%.0f", rate).c_str(),
                   static_cast<unsigned long long>(recorder.failed()), extra.c_str());
    }
    last_ns_ = now;
    last_done_ = done;
  }

 private:
  const bool enabled_;
  const int64_t begin_ns_ = NowNanos();
  int64_t last_ns_ = 0;
  uint64_t last_done_ = 0;
};

absl::Status Preload(const LoadOptions& options, const KeySpace& keys,
                     const Connections& connections, LoadReport* report) {
  Recorder recorder;
  recorder.BeginMeasure(0);  // count every write
  LoadEngine engine(options, &keys, &connections, &recorder, /*preload=*/true);
  Progress progress(options);
  const int64_t start = NowNanos();
  progress.Tick("preload", recorder);
  engine.Start();
  while (!engine.WaitDone(options.progress_interval)) {
    progress.Tick("preload", recorder,
                  absl::StrFormat("  %llu/%llu keys (%.0f%%)",
                                  static_cast<unsigned long long>(recorder.completed()),
                                  static_cast<unsigned long long>(keys.size()),
                                  100.0 * recorder.completed() / keys.size()));
  }
  report->preload_seconds = (NowNanos() - start) / 1e9;
  Measurement m = recorder.Collect();
  report->preloaded_keys = m.ok_ops;
  if (m.error_count() > 0) {
    const auto& [code, message] = *m.first_error.begin();
    return absl::UnavailableError(absl::StrCat("preload: ", m.error_count(), " of ", keys.size(),
                                               " writes failed, e.g. ", GrpcCodeName(code), ": ",
                                               message));
  }
  if (options.progress) {
    std::fprintf(stderr, "preload: %llu keys in %.1f s (%.0f writes/s)\n",
                 static_cast<unsigned long long>(m.ok_ops), report->preload_seconds,
                 m.ok_ops / std::max(report->preload_seconds, 1e-9));
  }
  return absl::OkStatus();
}

// User + system CPU seconds of this process so far.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

std::array<double, 3> LoadAverage() {
  std::array<double, 3> avg{};
  std::ifstream in("/proc/loadavg");
  in >> avg[0] >> avg[1] >> avg[2];
  return avg;
}

absl::StatusOr<LoadReport> RunLoad(const LoadOptions& options, bool measure) {
  LoadReport report;
  report.load_average_before = LoadAverage();
  const ConnectionOptions& c = options.connection;
  auto connections = Connections::Open(c.targets, c.connections, c.connect_timeout, c.security);
  if (!connections.ok()) return connections.status();
  KeySpace keys(options.keys);
  if (options.preload) {
    if (auto s = Preload(options, keys, **connections, &report); !s.ok()) return s;
  }
  if (!measure) {
    report.load_average_after = LoadAverage();
    return report;
  }

  Recorder recorder;
  LoadEngine engine(options, &keys, connections->get(), &recorder, /*preload=*/false);
  Progress progress(options);
  progress.Tick("warmup", recorder);
  engine.Start();
  const absl::Time warmup_end = absl::Now() + options.warmup;
  while (absl::Now() < warmup_end) {
    absl::SleepFor(std::min(options.progress_interval, warmup_end - absl::Now()));
    progress.Tick("warmup", recorder);
  }
  const double cpu_start = ProcessCpuSeconds();
  recorder.BeginMeasure(NowNanos(), options.ops);
  if (options.ops > 0) {
    while (!recorder.WaitForOpLimit(options.progress_interval)) progress.Tick("measure", recorder);
  } else {
    const absl::Time end = absl::Now() + options.duration;
    while (absl::Now() < end) {
      absl::SleepFor(std::min(options.progress_interval, end - absl::Now()));
      progress.Tick("measure", recorder);
    }
    recorder.EndMeasure(NowNanos());
  }
  report.client_cpu_seconds = ProcessCpuSeconds() - cpu_start;
  engine.Stop();
  // Requests in flight finish within their deadline; allow a little more.
  if (!engine.WaitDone(c.timeout + absl::Seconds(5))) {
    return absl::DeadlineExceededError("requests in flight did not finish after stopping");
  }
  report.measured = true;
  report.measurement = recorder.Collect();
  report.load_average_after = LoadAverage();
  return report;
}

}  // namespace kv::kvbench

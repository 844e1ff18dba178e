// kvbench: load generator and replication-lag meter for kvstore. See docs/kvbench.md.
//
// Exit status: 0 done; 1 the run could not be carried out (no connection, failed preload,
// edge not replicating); 2 bad flags; 3 done, but some measured requests failed (neighbours:
// or the ratio exceeded --max-ratio).

#include <cstdio>

#include "absl/synchronization/mutex.h"
#include "bench/kvbench/cli.h"
#include "bench/kvbench/lag.h"
#include "bench/kvbench/neighbours.h"
#include "bench/kvbench/report.h"
#include "bench/kvbench/runner.h"

namespace {

int Fail(int code, const absl::Status& status) {
  std::fprintf(stderr, "kvbench: %s\n", std::string(status.message()).c_str());
  return code;
}

void Print(bool json_only, const std::string& text, const nlohmann::json& json) {
  if (!json_only) std::fputs(text.c_str(), stdout);
  std::printf("%s\n", json.dump().c_str());
  std::fflush(stdout);
}

int RunLoadCommand(const kv::kvbench::Command& command) {
  kv::kvbench::LoadOptions options = command.load;
  if (command.preload_only) {
    options.duration = absl::ZeroDuration();
    options.ops = 0;
  }
  auto report = kv::kvbench::RunLoad(options, /*measure=*/!command.preload_only);
  if (!report.ok()) return Fail(1, report.status());
  Print(command.json_only, kv::kvbench::LoadReportText(options, *report),
        kv::kvbench::LoadReportJson(options, *report));
  return report->measurement.error_count() > 0 ? 3 : 0;
}

int RunLagCommand(const kv::kvbench::Command& command) {
  auto report = kv::kvbench::RunLag(command.lag);
  if (!report.ok()) return Fail(1, report.status());
  Print(command.json_only, kv::kvbench::LagReportText(command.lag, *report),
        kv::kvbench::LagReportJson(command.lag, *report));
  uint64_t failures = report->probe_errors + report->background.errors;
  for (const auto& e : report->edges) failures += e.timeouts;
  return failures > 0 ? 3 : 0;
}

int RunNeighboursCommand(const kv::kvbench::NeighboursFlags& flags) {
  auto options = flags.Resolve();
  if (!options.ok()) return Fail(2, options.status());
  auto report = kv::kvbench::RunNeighbours(*options);
  if (!report.ok()) return Fail(1, report.status());
  Print(options->json_only, kv::kvbench::NeighboursText(*options, *report),
        kv::kvbench::NeighboursJson(*options, *report));
  return report->errors > 0 || report->median_round_ratio > options->max_ratio ? 3 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's abseil keeps Mutex deadlock detection on; every grpc::ClientContext creates and
  // destroys a Mutex, and the detector's graph bookkeeping cost ~6% of kvbench's CPU.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  kv::kvbench::Cli cli;
  kv::kvbench::NeighboursFlags neighbours;
  CLI::App* neighbours_command = kv::kvbench::AddNeighboursCommand(&cli.app(), &neighbours);
  try {
    cli.app().parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.app().exit(e);
  }
  if (neighbours_command->parsed()) return RunNeighboursCommand(neighbours);
  auto command = cli.Resolve();
  if (!command.ok()) return Fail(2, command.status());
  return command->kind == kv::kvbench::Command::Kind::kRun ? RunLoadCommand(*command)
                                                           : RunLagCommand(*command);
}

// faultproxy: a TCP proxy that injects network faults between two processes.
//   faultproxy --listen 127.0.0.1:0 --target 127.0.0.1:7000 --control 127.0.0.1:0
// prints one line once it is listening, for scripts to read:
//   faultproxy listen=127.0.0.1:40001 target=127.0.0.1:7000 control=127.0.0.1:40002
// and runs until SIGINT/SIGTERM. Faults are set with --delay/--jitter/--bandwidth at start and
// through the control socket while running (see docs/faultproxy.md).

#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/units.h"
#include "tests/faultproxy/control_server.h"
#include "tests/faultproxy/fault_proxy.h"

namespace {

struct Flags {
  std::string listen = "127.0.0.1:0";
  std::string target;
  std::string control;
  std::string delay = "0";
  std::string jitter = "0";
  std::string bandwidth = "0";
  uint64_t seed = 1;
  bool verbose = false;
};

int Fail(const absl::Status& status) {
  std::cerr << "faultproxy: " << status.message() << "\n";
  return 1;
}

int Run(const Flags& flags) {
  kv::SetLogName("faultproxy");
  if (flags.verbose) kv::SetLogLevel(kv::LogLevel::kDebug);

  kv::testing::FaultProxyOptions options;
  options.listen_address = flags.listen;
  options.target_address = flags.target;
  options.seed = flags.seed;
  absl::StatusOr<absl::Duration> delay = kv::ParseDurationFlag(flags.delay);
  if (!delay.ok()) return Fail(delay.status());
  absl::StatusOr<absl::Duration> jitter = kv::ParseDurationFlag(flags.jitter);
  if (!jitter.ok()) return Fail(jitter.status());
  absl::StatusOr<uint64_t> bandwidth = kv::ParseByteSize(flags.bandwidth);
  if (!bandwidth.ok()) return Fail(bandwidth.status());
  for (kv::testing::Direction d : kv::testing::kBothDirections) {
    options.initial_faults[d].delay = *delay;
    options.initial_faults[d].jitter = *jitter;
    options.initial_faults[d].bytes_per_second = *bandwidth;
  }

  // Block the stop signals before any thread starts, so only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  kv::testing::FaultProxy proxy(options);
  if (absl::Status s = proxy.Start(); !s.ok()) return Fail(s);
  std::unique_ptr<kv::testing::ControlServer> control;
  if (!flags.control.empty()) {
    control = std::make_unique<kv::testing::ControlServer>(&proxy, flags.control);
    if (absl::Status s = control->Start(); !s.ok()) return Fail(s);
  }
  std::string line =
      absl::StrCat("faultproxy listen=", proxy.listen_address(), " target=", flags.target);
  if (control) absl::StrAppend(&line, " control=", control->listen_address());
  std::cout << line << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  KV_LOG(INFO) << "signal " << sig << ", stopping; " << proxy.stats().ToString();
  if (control) control->Stop();
  proxy.Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{"TCP proxy that injects delay, bandwidth caps, pauses and cuts for tests"};
  app.add_option("--listen", flags.listen, "HOST:PORT to accept clients on (port 0: any free)")
      ->capture_default_str();
  app.add_option("--target", flags.target, "HOST:PORT to forward connections to")->required();
  app.add_option("--control", flags.control,
                 "HOST:PORT of the line-based control socket (off when empty)");
  app.add_option("--delay", flags.delay, "one-way delay in both directions at start, e.g. 50ms")
      ->capture_default_str();
  app.add_option("--jitter", flags.jitter, "delay jitter (+/-) at start, e.g. 5ms")
      ->capture_default_str();
  app.add_option("--bandwidth", flags.bandwidth,
                 "bytes per second per direction at start, e.g. 1MiB (0: unlimited)")
      ->capture_default_str();
  app.add_option("--seed", flags.seed, "seed of the jitter samples")->capture_default_str();
  app.add_flag("--verbose", flags.verbose, "log connection events");
  CLI11_PARSE(app, argc, argv);
  return Run(flags);
}

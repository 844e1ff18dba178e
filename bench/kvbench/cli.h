#pragma once
// kvbench's command line: `kvbench run ...` (a load) and `kvbench lag ...` (replication lag).
// Flags are declared on a CLI11 app and translated into LoadOptions / LagOptions, with units
// ("10s", "100ms", "1KiB") parsed and ranges checked, so errors name the flag at fault.

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "bench/kvbench/lag.h"
#include "bench/kvbench/options.h"

namespace kv::kvbench {

struct Command {
  enum class Kind { kRun, kLag };
  Kind kind = Kind::kRun;
  LoadOptions load;
  LagOptions lag;
  // run: write every key and stop without measuring.
  bool preload_only = false;
  // Print only the JSON line (progress still goes to stderr unless --quiet).
  bool json_only = false;
};

class Cli {
 public:
  Cli();
  CLI::App& app() { return app_; }
  // After app().parse(...): checks and converts the flags.
  absl::StatusOr<Command> Resolve() const;

 private:
  // Flags as typed; units are parsed in Resolve.
  struct RunFlags {
    std::vector<std::string> targets;
    std::string workload = "read";
    double read_ratio = 0.9;
    int batch_size = 10;
    uint64_t keys = 100'000;
    std::string key_prefix = "kvbench/";
    std::string distribution = "uniform";
    double zipf_s = 0.99;
    std::string value_size = "100";
    bool preload = false;
    bool preload_only = false;
    int concurrency = 50;
    int connections = 4;
    std::string engine = "cq";
    int threads = 1;
    std::string duration = "10s";
    uint64_t ops = 0;
    std::string warmup = "1s";
    std::string timeout = "5s";
    std::string consistency = "bounded";
    std::string max_staleness = "0";
    uint64_t min_version = 0;
    bool allow_stale = false;
    std::string tls_ca;
    std::string tls_cert;
    std::string tls_key;
    std::string tls_server_name;
    std::string token;
  };
  struct LagFlags {
    std::string central;
    std::vector<std::string> edges;
    double rate = 5000;
    int samples = 200;
    std::string interval = "10ms";
    std::string warmup = "1s";
    std::string sample_timeout = "5s";
    std::string timeout = "5s";
    std::string value_size = "100";
    uint64_t keys = 100'000;
    std::string key_prefix = "kvbench/";
    int max_outstanding = 1000;
    std::string poll_max_staleness = "1h";
  };
  struct SharedFlags {
    std::string connect_timeout = "10s";
    uint64_t seed = 1;
    bool quiet = false;
    bool json_only = false;
    std::string progress_interval = "1s";
  };

  static void AddShared(CLI::App* command, SharedFlags* flags);
  absl::Status ResolveRun(Command* command) const;
  absl::Status ResolveLag(Command* command) const;

  CLI::App app_;
  CLI::App* run_ = nullptr;
  CLI::App* lag_ = nullptr;
  RunFlags run_flags_;
  LagFlags lag_flags_;
  SharedFlags run_shared_;
  SharedFlags lag_shared_;
};

}  // namespace kv::kvbench

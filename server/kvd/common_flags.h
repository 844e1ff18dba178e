#pragma once
// Flags shared by `kvd central` and `kvd edge`, and their translation into Options structs.

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/kvd/serve.h"
#include "server/kvd/tls_flags.h"
#include "server/node/limits.h"
#include "server/watch/watch_hub.h"

namespace kv::server {

struct CommonFlags {
  std::string listen = "127.0.0.1:7000";
  int max_connections = 0;  // 0 = derived from the descriptor limit
  std::string http;
  std::string resp;
  int resp_threads = 1;
  int resp_max_connections = 10000;
  std::string resp_idle_timeout = "300s";
  std::string resp_max_output_bytes = "64MiB";
  std::string data_dir;
  std::string node_id;
  std::string max_key_bytes = "512";
  std::string max_value_bytes = "25MiB";
  std::string max_metadata_bytes = "1024";
  std::string min_ttl = "1s";
  std::string block_cache = "256MiB";
  std::string ready_file;
  int http_threads = 1;
  std::string http_idle_timeout = "60s";
  std::string http_write_timeout = "30s";
  int http_max_connections = 4096;
  std::string http_max_pending_bytes = "256MiB";
  int max_watchers = 10000;
  std::string watch_progress_interval = "1s";
  uint64_t watch_max_lag = 10000;
  bool verbose = false;
  std::string log_format = "text";
  std::string log_level = "info";
  TlsFlags tls;
};

void AddCommonFlags(CLI::App* command, CommonFlags* flags, const std::string& default_listen);

// Parses one unit-bearing flag ("250ms", "64KiB") into `out`; errors name the flag.
absl::Status ParseDurationFlagInto(const std::string& flag, const std::string& text,
                                   absl::Duration* out);
absl::Status ParseBytesFlagInto(const std::string& flag, const std::string& text, uint64_t* out);
// A duration that must be positive (intervals, bounds).
absl::Status ParsePositiveDurationFlagInto(const std::string& flag, const std::string& text,
                                           absl::Duration* out);

// Parses the limit flags; errors name the flag.
absl::Status ParseLimits(const CommonFlags& flags, Limits* limits);
// Also raises the descriptor limit (descriptor_limit.h) to check --max-connections against it.
absl::Status ParseServeOptions(const CommonFlags& flags, const Limits& limits, ServeOptions* serve);
// Parses the watch flags (--max-watchers, --watch-progress-interval, --watch-max-lag).
absl::Status ParseWatchFlags(const CommonFlags& flags, WatchHubOptions* watch);
// Sets the log name and level from the flags.
void SetUpLogging(const CommonFlags& flags, const std::string& role);

// Prints "kvd: <message>" to stderr and returns the exit status for a failed start.
int StartupFailure(const absl::Status& status);

}  // namespace kv::server

#pragma once
// `kvd edge`: flags and runner.

#include <string>

#include "CLI/CLI.hpp"
#include "server/kvd/auth_flags.h"
#include "server/kvd/common_flags.h"
#include "server/kvd/hardening_flags.h"

namespace kv::server {

struct EdgeFlags {
  CommonFlags common;
  AuthFlags auth;
  HardeningFlags hardening;
  std::string mode = "full";
  std::string upstream;
  std::string max_staleness = "5s";
  std::string min_version_wait = "200ms";
  std::string ping_interval = "50ms";
  std::string upstream_timeout = "2s";
  std::string cache_bytes = "256MiB";
  std::string hot_cache_bytes = "64MiB";
  uint64_t log_retention_entries = 1'000'000;
  std::string log_retention_age = "24h";
  std::string log_retention_interval = "5s";
  std::string push_value_limit = "64KiB";
  bool allow_cluster_change = false;
};

CLI::App* AddEdgeCommand(CLI::App* app, EdgeFlags* flags);
// Runs the edge until SIGINT/SIGTERM; returns the process exit status.
int RunEdge(const EdgeFlags& flags);

}  // namespace kv::server

#pragma once
// `kvd central`: flags and runner.

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "server/kvd/auth_flags.h"
#include "server/kvd/common_flags.h"
#include "server/kvd/hardening_flags.h"

namespace kv::server {

struct CentralFlags {
  CommonFlags common;
  AuthFlags auth;
  HardeningFlags hardening;
  uint64_t log_retention_entries = 1'000'000;
  std::string log_retention_age = "24h";
  std::string log_retention_interval = "5s";
  std::string expiry_sweep_interval = "1s";
  std::string push_value_limit = "64KiB";
  // Central nodes with standbys (docs/ha.md).
  std::vector<std::string> ha_etcd;
  std::string ha_cluster = "kv";
  std::string advertise;
  int sync_standbys = 1;
  std::string ha_lease_ttl = "2s";
  std::string ha_standby_timeout = "1s";
  std::string standby_max_staleness = "5s";
};

CLI::App* AddCentralCommand(CLI::App* app, CentralFlags* flags);
// Runs the central node until SIGINT/SIGTERM; returns the process exit status.
int RunCentral(const CentralFlags& flags);

}  // namespace kv::server

#include "server/kvd/central_main.h"

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "replication/chain.h"
#include "server/central/central_node.h"
#include "server/kvd/serve_role.h"
#include "server/metrics/metrics.h"

namespace kv::server {

CLI::App* AddCentralCommand(CLI::App* app, CentralFlags* flags) {
  CLI::App* cmd = app->add_subcommand(
      "central",
      "Run the central node: the single authority that accepts writes, stores them "
      "in RocksDB and streams them to edges");
  AddCommonFlags(cmd, &flags->common, "127.0.0.1:7000");
  AddAuthFlags(cmd, &flags->auth, AuthRole::kCentral);
  AddHardeningFlags(cmd, &flags->hardening);
  cmd->add_option("--log-retention-entries", flags->log_retention_entries,
                  "Keep at most this many changes in the change log (0 = no count limit); an "
                  "edge further behind takes a new snapshot")
      ->capture_default_str();
  cmd->add_option("--log-retention-age", flags->log_retention_age,
                  "Drop changes older than this from the change log (0 = no age limit)")
      ->capture_default_str();
  cmd->add_option("--log-retention-interval", flags->log_retention_interval,
                  "How often the change log is trimmed")
      ->capture_default_str();
  cmd->add_option("--expiry-sweep-interval", flags->expiry_sweep_interval,
                  "How often expired keys are turned into logged deletions")
      ->capture_default_str();
  cmd->add_option("--push-value-limit", flags->push_value_limit,
                  "Values larger than this are streamed to edges as invalidations and fetched on "
                  "demand")
      ->capture_default_str();
  return cmd;
}

int RunCentral(const CentralFlags& flags) {
  CentralOptions options;
  options.data_dir = flags.common.data_dir;
  options.node_id = flags.common.node_id.empty() ? "central" : flags.common.node_id;
  SetUpLogging(flags.common, options.node_id);
  if (auto s = replication::ValidNodeId(options.node_id); !s.ok()) {
    return StartupFailure(absl::InvalidArgumentError(absl::StrCat("--node-id: ", s.message())));
  }
  options.retention.max_entries = flags.log_retention_entries;
  for (absl::Status s : {
           ParseLimits(flags.common, &options.limits),
           ParseWatchFlags(flags.common, &options.watch),
           ParseBytesFlagInto("--block-cache", flags.common.block_cache,
                              &options.block_cache_bytes),
           ParseDurationFlagInto("--log-retention-age", flags.log_retention_age,
                                 &options.retention.max_age),
           ParsePositiveDurationFlagInto("--log-retention-interval", flags.log_retention_interval,
                                         &options.retention.interval),
           ParsePositiveDurationFlagInto("--expiry-sweep-interval", flags.expiry_sweep_interval,
                                         &options.expiry.interval),
           ParseBytesFlagInto("--push-value-limit", flags.push_value_limit,
                              &options.push_value_limit),
       }) {
    if (!s.ok()) return StartupFailure(s);
  }
  ServeOptions serve;
  if (auto s = ParseServeOptions(flags.common, options.limits, &serve); !s.ok()) {
    return StartupFailure(s);
  }

  HardeningOptions hardening;
  if (auto s = ParseHardeningFlags(flags.hardening, &hardening); !s.ok()) return StartupFailure(s);
  options.min_free_disk_bytes = hardening.min_free_disk_bytes;

  GatekeeperOptions gate_options;
  if (auto s = ParseAuthFlags(flags.auth, &gate_options); !s.ok()) return StartupFailure(s);
  if (!flags.auth.jwks_file.empty()) {
    auto jwks = ReadFlagFile("--auth-jwks", flags.auth.jwks_file);
    if (!jwks.ok()) return StartupFailure(jwks.status());
    options.seed_key_set = *std::move(jwks);
  }

  Metrics metrics;
  Gatekeeper gate(gate_options, &metrics);
  options.on_cluster_data = gate.Observer();
  options.on_group_commit = [&metrics](size_t writes, double seconds) {
    metrics.RecordGroupCommit(writes, absl::Seconds(seconds));
  };
  auto node = CentralNode::Open(options, Clock::Real());
  if (!node.ok()) return StartupFailure(node.status());
  CentralNode* central = node->get();
  if (gate.required() && !gate.has_key_set()) {
    // Nobody could prove to be an admin to set one later.
    return StartupFailure(absl::FailedPreconditionError(
        "--auth required needs the cluster's key set: give --auth-jwks FILE (a JWKS document) "
        "on this first start"));
  }
  RoleHooks hooks;
  hooks.gate = &gate;
  hooks.key_sets = central;
  hooks.backups = central->backups();
  hooks.watch_hub = central->watch_hub();
  hooks.max_concurrent_snapshots = hardening.max_concurrent_snapshots;
  hooks.stop = [central] { central->Stop(); };
  absl::Status served = ServeRole(central, central, "", serve, &metrics, std::move(hooks));
  node->reset();  // closes RocksDB
  if (!served.ok()) return StartupFailure(served);
  return 0;
}

}  // namespace kv::server

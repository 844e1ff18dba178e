#include "server/kvd/central_main.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "replication/chain.h"
#include "server/central/central_node.h"
#include "server/ha/ha_controller.h"
#include "server/ha/ha_node.h"
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
  cmd->add_option("--ha-etcd", flags->ha_etcd,
                  "etcd client endpoints (HOST:PORT, comma-separated or repeated): run as one of "
                  "several central nodes, one leader and standbys, elected through etcd "
                  "(docs/ha.md)")
      ->delimiter(',');
  cmd->add_option("--ha-cluster", flags->ha_cluster,
                  "The name this cluster's central nodes share in etcd")
      ->capture_default_str();
  cmd->add_option("--advertise", flags->advertise,
                  "With --ha-etcd: the gRPC address the other central nodes and the edges reach "
                  "this node at [--listen]");
  cmd->add_option("--sync-standbys", flags->sync_standbys,
                  "With --ha-etcd: standbys that must hold a write durably before the leader "
                  "acknowledges it (0 = none: a failover may lose acknowledged writes)")
      ->capture_default_str();
  cmd->add_option("--ha-lease-ttl", flags->ha_lease_ttl,
                  "With --ha-etcd: the leader's etcd lease; a dead leader is replaced after about "
                  "this long")
      ->capture_default_str();
  cmd->add_option("--ha-standby-timeout", flags->ha_standby_timeout,
                  "With --ha-etcd: a standby this far behind (or gone this long) leaves the "
                  "in-sync set and is no longer waited for")
      ->capture_default_str();
  cmd->add_option("--standby-max-staleness", flags->standby_max_staleness,
                  "With --ha-etcd: the staleness bound of reads at a standby that name none; a "
                  "staler standby sends them to the leader")
      ->capture_default_str();
  return cmd;
}

namespace {

// --ha-etcd and friends; `ha` stays null without --ha-etcd.
absl::Status SetUpHa(const CentralFlags& flags, const ServeOptions& serve, CentralOptions* options,
                     std::unique_ptr<HaController>* ha, absl::Duration* standby_bound) {
  if (flags.ha_etcd.empty()) return absl::OkStatus();
  HaOptions ha_options;
  ha_options.etcd_endpoints = flags.ha_etcd;
  ha_options.cluster = flags.ha_cluster;
  ha_options.node_id = options->node_id;
  ha_options.advertise = flags.advertise;  // empty: the bound --listen address
  if (flags.advertise.empty() && (absl::StartsWith(flags.common.listen, "0.0.0.0") ||
                                  absl::StartsWith(flags.common.listen, "[::]"))) {
    return absl::InvalidArgumentError(
        "--advertise is needed when --listen is a wildcard address: the address the other "
        "central nodes and the edges reach this node at");
  }
  ha_options.sync_standbys = flags.sync_standbys;
  ha_options.upstream.security = serve.upstream_security;
  ha_options.upstream.token_file = flags.auth.upstream_token_file;
  for (absl::Status s : {
           ParsePositiveDurationFlagInto("--ha-lease-ttl", flags.ha_lease_ttl,
                                         &ha_options.lease_ttl),
           // etcd grants leases in whole seconds; trusting a fraction more would break the fence.
           ha_options.lease_ttl % absl::Seconds(1) == absl::ZeroDuration()
               ? absl::OkStatus()
               : absl::InvalidArgumentError("--ha-lease-ttl must be whole seconds (etcd's unit)"),
           ParsePositiveDurationFlagInto("--ha-standby-timeout", flags.ha_standby_timeout,
                                         &ha_options.standby_timeout),
           ParsePositiveDurationFlagInto("--standby-max-staleness", flags.standby_max_staleness,
                                         standby_bound),
       }) {
    if (!s.ok()) return s;
  }
  auto controller = HaController::Create(std::move(ha_options), Clock::Real());
  if (!controller.ok()) return controller.status();
  *ha = *std::move(controller);
  HaController* c = ha->get();
  options->replicate = [c](const CommittedChanges& changes) { return c->Replicate(changes); };
  options->may_acknowledge = [c] { return c->MayAcknowledge(); };
  options->abandon = [c](const absl::Status& why) { c->AbandonLeadership(why); };
  options->staleness_micros = [c] { return c->StalenessMicros(); };
  return absl::OkStatus();
}

}  // namespace

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
  std::unique_ptr<HaController> ha;
  absl::Duration standby_bound;
  if (auto s = SetUpHa(flags, serve, &options, &ha, &standby_bound); !s.ok()) {
    return StartupFailure(s);
  }
  auto node = CentralNode::Open(options, Clock::Real());
  if (!node.ok()) return StartupFailure(node.status());
  CentralNode* central = node->get();
  // A standby receives the key set from its leader.
  if (ha == nullptr && gate.required() && !gate.has_key_set()) {
    // Nobody could prove to be an admin to set one later.
    return StartupFailure(absl::FailedPreconditionError(
        "--auth required needs the cluster's key set: give --auth-jwks FILE (a JWKS document) "
        "on this first start"));
  }
  std::unique_ptr<HaNode> ha_node;
  Node* served_node = central;
  KeySetAdmin* key_sets = central;
  if (ha != nullptr) {
    ha_node = std::make_unique<HaNode>(central, ha.get(), standby_bound);
    served_node = ha_node.get();
    key_sets = ha_node.get();
  }
  RoleHooks hooks;
  hooks.gate = &gate;
  hooks.key_sets = key_sets;
  hooks.backups = central->backups();
  hooks.watch_hub = central->watch_hub();
  hooks.max_concurrent_snapshots = hardening.max_concurrent_snapshots;
  HaController* controller = ha.get();
  if (controller != nullptr) {
    // Joins the cluster once this node can be reached at its address.
    hooks.on_serving = [controller, central](const std::string& bound) {
      controller->Start(central, bound);
    };
  }
  if (controller != nullptr) hooks.step_down = [controller] { controller->Stop(); };
  hooks.stop = [controller, central] {
    if (controller != nullptr) controller->Stop();  // steps down first: a standby takes over
    central->Stop();
  };
  absl::Status served = ServeRole(served_node, central, "", serve, &metrics, std::move(hooks));
  ha.reset();
  node->reset();  // closes RocksDB
  if (!served.ok()) return StartupFailure(served);
  return 0;
}

}  // namespace kv::server

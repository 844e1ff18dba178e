#include "server/kvd/central_main.h"

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/units.h"
#include "replication/publisher.h"
#include "server/central/central_node.h"
#include "server/metrics/metrics.h"
#include "server/rpc/replication_service.h"
#include "server/kvd/serve.h"

namespace kv::server {

CLI::App* AddCentralCommand(CLI::App* app, CentralFlags* flags) {
  CLI::App* cmd = app->add_subcommand(
      "central",
      "Run the central node: the single authority that accepts writes, stores them "
      "in RocksDB and streams them to edges");
  AddCommonFlags(cmd, &flags->common, "127.0.0.1:7000");
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
  if (auto s = ParseLimits(flags.common, &options.limits); !s.ok()) return StartupFailure(s);
  auto cache = ParseByteSize(flags.common.block_cache);
  if (!cache.ok())
    return StartupFailure(
        absl::InvalidArgumentError(absl::StrCat("--block-cache: ", cache.status().message())));
  options.block_cache_bytes = *cache;
  options.retention.max_entries = flags.log_retention_entries;
  auto age = ParseDurationFlag(flags.log_retention_age);
  if (!age.ok())
    return StartupFailure(
        absl::InvalidArgumentError(absl::StrCat("--log-retention-age: ", age.status().message())));
  options.retention.max_age = *age;
  auto trim = ParseDurationFlag(flags.log_retention_interval);
  if (!trim.ok() || *trim <= absl::ZeroDuration()) {
    return StartupFailure(
        absl::InvalidArgumentError("--log-retention-interval must be a positive duration"));
  }
  options.retention.interval = *trim;
  auto sweep = ParseDurationFlag(flags.expiry_sweep_interval);
  if (!sweep.ok() || *sweep <= absl::ZeroDuration()) {
    return StartupFailure(
        absl::InvalidArgumentError("--expiry-sweep-interval must be a positive duration"));
  }
  options.expiry.interval = *sweep;
  auto push = ParseByteSize(flags.push_value_limit);
  if (!push.ok())
    return StartupFailure(
        absl::InvalidArgumentError(absl::StrCat("--push-value-limit: ", push.status().message())));
  options.push_value_limit = *push;

  ServeOptions serve;
  if (auto s = ParseServeOptions(flags.common, options.limits, &serve); !s.ok()) {
    return StartupFailure(s);
  }

  Metrics metrics;
  options.on_group_commit = [&metrics](size_t writes, double seconds) {
    metrics.RecordGroupCommit(writes, absl::Seconds(seconds));
  };
  auto node = CentralNode::Open(options, Clock::Real());
  if (!node.ok()) return StartupFailure(node.status());
  CentralNode* central = node->get();

  CallTracker tracker(&metrics);
  ReplicationService replication(
      central, central->store(), central->publisher(), Clock::Real(),
      [] { return absl::OkStatus(); }, &tracker);
  ServeHooks hooks;
  hooks.tracker = &tracker;
  hooks.metrics = &metrics;
  hooks.extra_services.push_back(&replication);
  hooks.before_shutdown = [central] { central->publisher()->FinishAll(); };
  hooks.after_shutdown = [central] { central->Stop(); };
  absl::Status served = Serve(central, serve, std::move(hooks));
  central->Stop();
  node->reset();  // closes RocksDB
  if (!served.ok()) return StartupFailure(served);
  return 0;
}

}  // namespace kv::server

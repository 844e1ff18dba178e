#include "server/kvd/edge_main.h"

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/units.h"
#include "server/edge/edge_node.h"
#include "server/metrics/metrics.h"
#include "server/rpc/replication_service.h"
#include "server/kvd/serve.h"

namespace kv::server {

CLI::App* AddEdgeCommand(CLI::App* app, EdgeFlags* flags) {
  CLI::App* cmd = app->add_subcommand(
      "edge",
      "Run an edge node: serves reads near users within a staleness bound, follows its "
      "upstream's change stream, forwards writes to the central node");
  AddCommonFlags(cmd, &flags->common, "127.0.0.1:7100");
  cmd->add_option("--mode", flags->mode,
                  "full: hold every key (RocksDB), can relay to other edges; cache: hold only "
                  "hot keys in memory, read cold keys through")
      ->check(CLI::IsMember({"full", "cache"}))
      ->capture_default_str();
  cmd->add_option("--upstream", flags->upstream,
                  "HOST:PORT of this edge's upstream: the central node or a full edge")
      ->required();
  cmd->add_option("--max-staleness", flags->max_staleness,
                  "Default staleness bound of reads; a staler edge forwards reads upstream and "
                  "reports not-ready")
      ->capture_default_str();
  cmd->add_option("--min-version-wait", flags->min_version_wait,
                  "How long a read with min_version waits for the stream before going upstream")
      ->capture_default_str();
  cmd->add_option("--ping-interval", flags->ping_interval,
                  "How often to ping the upstream; staleness of a healthy edge is about one "
                  "interval plus one round trip")
      ->capture_default_str();
  cmd->add_option("--upstream-timeout", flags->upstream_timeout,
                  "Longest wait for a read forwarded upstream or a cold fetch")
      ->capture_default_str();
  cmd->add_option("--cache-bytes", flags->cache_bytes,
                  "cache mode: memory for cached keys, values and per-entry overhead")
      ->capture_default_str();
  cmd->add_option("--log-retention-entries", flags->log_retention_entries,
                  "full mode: changes kept for edges below this one (0 = no count limit)")
      ->capture_default_str();
  cmd->add_option("--log-retention-age", flags->log_retention_age,
                  "full mode: drop relayed changes older than this (0 = no age limit)")
      ->capture_default_str();
  cmd->add_option("--log-retention-interval", flags->log_retention_interval,
                  "full mode: how often the relayed change log is trimmed")
      ->capture_default_str();
  cmd->add_option("--push-value-limit", flags->push_value_limit,
                  "full mode: values larger than this go to edges below as invalidations")
      ->capture_default_str();
  return cmd;
}

namespace {
absl::Status Duration(const std::string& flag, const std::string& text, absl::Duration* out) {
  auto d = ParseDurationFlag(text);
  if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", d.status().message()));
  *out = *d;
  return absl::OkStatus();
}
absl::Status Bytes(const std::string& flag, const std::string& text, uint64_t* out) {
  auto b = ParseByteSize(text);
  if (!b.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", b.status().message()));
  *out = *b;
  return absl::OkStatus();
}
}  // namespace

int RunEdge(const EdgeFlags& flags) {
  EdgeOptions options;
  options.mode = flags.mode;
  options.data_dir = flags.common.data_dir;
  options.node_id = flags.common.node_id.empty() ? absl::StrCat("edge-", flags.common.listen)
                                                 : flags.common.node_id;
  SetUpLogging(flags.common, options.node_id);
  options.upstream.address = flags.upstream;
  for (absl::Status s : {
           ParseLimits(flags.common, &options.limits),
           Duration("--max-staleness", flags.max_staleness, &options.max_staleness),
           Duration("--min-version-wait", flags.min_version_wait, &options.min_version_wait),
           Duration("--ping-interval", flags.ping_interval, &options.ping_interval),
           Duration("--upstream-timeout", flags.upstream_timeout, &options.upstream.timeout),
           Duration("--log-retention-age", flags.log_retention_age, &options.retention.max_age),
           Duration("--log-retention-interval", flags.log_retention_interval,
                    &options.retention.interval),
           Bytes("--cache-bytes", flags.cache_bytes, &options.cache_bytes),
           Bytes("--push-value-limit", flags.push_value_limit, &options.push_value_limit),
           Bytes("--block-cache", flags.common.block_cache, &options.block_cache_bytes),
       }) {
    if (!s.ok()) return StartupFailure(s);
  }
  if (options.ping_interval <= absl::ZeroDuration() ||
      options.max_staleness <= absl::ZeroDuration() ||
      options.retention.interval <= absl::ZeroDuration()) {
    return StartupFailure(absl::InvalidArgumentError(
        "--ping-interval, --max-staleness and --log-retention-interval must be positive"));
  }
  options.retention.max_entries = flags.log_retention_entries;
  options.upstream.max_message_bytes = options.limits.MaxMessageBytes();

  ServeOptions serve;
  if (auto s = ParseServeOptions(flags.common, options.limits, &serve); !s.ok()) {
    return StartupFailure(s);
  }
  Metrics metrics;
  auto node = EdgeNode::Open(options, Clock::Real());
  if (!node.ok()) return StartupFailure(node.status());
  EdgeNode* edge = node->get();

  CallTracker tracker(&metrics);
  ReplicationService replication(
      edge, edge->store(), edge->publisher(), Clock::Real(),
      [edge] { return edge->CanServeDownstreams(); }, &tracker);
  ServeHooks hooks;
  hooks.tracker = &tracker;
  hooks.metrics = &metrics;
  hooks.extra_services.push_back(&replication);
  hooks.on_serving = [edge](const std::string& address) { edge->Start(address); };
  hooks.before_shutdown = [edge] {
    if (edge->publisher() != nullptr) edge->publisher()->FinishAll();
  };
  hooks.after_shutdown = [edge] { edge->Stop(); };
  absl::Status served = Serve(edge, serve, std::move(hooks));
  edge->Stop();
  node->reset();
  if (!served.ok()) return StartupFailure(served);
  return 0;
}

}  // namespace kv::server

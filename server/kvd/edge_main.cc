#include "server/kvd/edge_main.h"

#include <type_traits>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/units.h"
#include "replication/chain.h"
#include "server/edge/cache_edge.h"
#include "server/edge/full_edge.h"
#include "server/kvd/serve_role.h"
#include "server/metrics/metrics.h"

namespace kv::server {

CLI::App* AddEdgeCommand(CLI::App* app, EdgeFlags* flags) {
  CLI::App* cmd = app->add_subcommand(
      "edge",
      "Run an edge node: serves reads near users within a staleness bound, follows its "
      "upstream's change stream, forwards writes to the central node");
  AddCommonFlags(cmd, &flags->common, "127.0.0.1:7100");
  AddAuthFlags(cmd, &flags->auth, AuthRole::kEdge);
  AddHardeningFlags(cmd, &flags->hardening);
  cmd->add_option("--mode", flags->mode,
                  "full: hold every key (RocksDB), can relay to other edges; cache: hold only "
                  "hot keys in memory, read cold keys through")
      ->check(CLI::IsMember({"full", "cache"}))
      ->capture_default_str();
  cmd->add_option("--upstream", flags->upstream,
                  "HOST:PORT of this edge's upstream: the central node or a full edge; "
                  "several comma-separated IP:PORT (the central nodes of a cluster with "
                  "standbys, docs/ha.md): the first that answers is used")
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
  cmd->add_option("--hot-cache-bytes", flags->hot_cache_bytes,
                  "full mode: memory for the hot-key read cache in front of RocksDB (keys, values "
                  "and per-entry overhead); 0 = no cache, every read goes to RocksDB")
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
  cmd->add_flag("--allow-cluster-change", flags->allow_cluster_change,
                "Let an upstream that serves another cluster than this edge's data replace that "
                "data (snapshot or cache drop); without it such an upstream is refused, the data "
                "kept and the edge reports not ready");
  return cmd;
}

namespace {

// Parses the flags into `options` (everything but what Open checks).
absl::Status ParseEdgeFlags(const EdgeFlags& flags, EdgeOptions* options) {
  auto mode = ParseEdgeMode(flags.mode);
  if (!mode.ok()) return mode.status();
  options->mode = *mode;
  options->data_dir = flags.common.data_dir;
  options->node_id = flags.common.node_id.empty() ? absl::StrCat("edge-", flags.common.listen)
                                                  : flags.common.node_id;
  if (auto s = replication::ValidNodeId(options->node_id); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--node-id: ", s.message()));
  }
  options->upstream.address = flags.upstream;
  options->allow_cluster_change = flags.allow_cluster_change;
  options->full.retention.max_entries = flags.log_retention_entries;
  for (absl::Status s : {
           ParseLimits(flags.common, &options->limits),
           ParseWatchFlags(flags.common, &options->watch),
           ParsePositiveDurationFlagInto("--max-staleness", flags.max_staleness,
                                         &options->max_staleness),
           ParseDurationFlagInto("--min-version-wait", flags.min_version_wait,
                                 &options->min_version_wait),
           ParsePositiveDurationFlagInto("--ping-interval", flags.ping_interval,
                                         &options->ping_interval),
           ParseDurationFlagInto("--upstream-timeout", flags.upstream_timeout,
                                 &options->upstream.timeout),
           ParseDurationFlagInto("--log-retention-age", flags.log_retention_age,
                                 &options->full.retention.max_age),
           ParsePositiveDurationFlagInto("--log-retention-interval", flags.log_retention_interval,
                                         &options->full.retention.interval),
           ParseBytesFlagInto("--cache-bytes", flags.cache_bytes, &options->cache.cache_bytes),
           ParseBytesFlagInto("--hot-cache-bytes", flags.hot_cache_bytes,
                              &options->full.hot_cache_bytes),
           ParseBytesFlagInto("--push-value-limit", flags.push_value_limit,
                              &options->full.push_value_limit),
           ParseBytesFlagInto("--block-cache", flags.common.block_cache,
                              &options->full.block_cache_bytes),
       }) {
    if (!s.ok()) return s;
  }
  if (options->mode == EdgeMode::kCache) {
    if (auto s = CheckCacheBytesFlag(options->cache.cache_bytes); !s.ok()) return s;
  }
  if (options->mode == EdgeMode::kFull && options->full.hot_cache_bytes > 0) {
    if (auto s = CheckCacheBytesFlag("--hot-cache-bytes", options->full.hot_cache_bytes); !s.ok()) {
      return s;
    }
  }
  options->upstream.max_message_bytes = options->limits.MaxMessageBytes();
  return absl::OkStatus();
}

// Opens the edge of type `Edge` and serves it; `source` is its upstream side, if it has one.
template <typename Edge>
int OpenAndServe(EdgeOptions options, const ServeOptions& serve, Metrics* metrics, Gatekeeper* gate,
                 const HardeningOptions& hardening) {
  options.full.min_free_disk_bytes = hardening.min_free_disk_bytes;
  options.on_cluster_data = gate->Observer();
  options.fetch_cluster_data = gate->required();
  auto node = Edge::Open(options, Clock::Real());
  if (!node.ok()) return StartupFailure(node.status());
  Edge* edge = node->get();
  ReplicationSource* source = nullptr;
  if constexpr (std::is_base_of_v<ReplicationSource, Edge>) source = edge;
  RoleHooks hooks;
  hooks.gate = gate;
  hooks.max_concurrent_snapshots = hardening.max_concurrent_snapshots;
  hooks.watch_hub = edge->watch_hub();
  hooks.chain = [edge] { return edge->Chain(); };
  hooks.on_serving = [edge](const std::string& address) { edge->Start(address); };
  hooks.stop = [edge] { edge->Stop(); };
  absl::Status served = ServeRole(
      edge, source,
      absl::StrCat("edge ", options.node_id,
                   " is a cache edge and cannot be an upstream; point downstreams at a full "
                   "edge or the central node"),
      serve, metrics, std::move(hooks));
  node->reset();
  if (!served.ok()) return StartupFailure(served);
  return 0;
}

}  // namespace

int RunEdge(const EdgeFlags& flags) {
  SetUpLogging(flags.common, flags.common.node_id.empty()
                                 ? absl::StrCat("edge-", flags.common.listen)
                                 : flags.common.node_id);
  EdgeOptions options;
  if (auto s = ParseEdgeFlags(flags, &options); !s.ok()) return StartupFailure(s);
  ServeOptions serve;
  if (auto s = ParseServeOptions(flags.common, options.limits, &serve); !s.ok()) {
    return StartupFailure(s);
  }
  options.upstream.security = serve.upstream_security;  // TLS towards the upstream
  HardeningOptions hardening;
  if (auto s = ParseHardeningFlags(flags.hardening, &hardening); !s.ok()) return StartupFailure(s);
  GatekeeperOptions gate_options;
  if (auto s = ParseAuthFlags(flags.auth, &gate_options); !s.ok()) return StartupFailure(s);
  options.upstream.token_file = flags.auth.upstream_token_file;
  if (!options.upstream.token_file.empty()) {
    if (auto token = ReadFlagFile("--upstream-token-file", options.upstream.token_file);
        !token.ok()) {
      return StartupFailure(token.status());
    }
  }
  Metrics metrics;
  Gatekeeper gate(gate_options, &metrics);
  switch (options.mode) {
    case EdgeMode::kFull:
      return OpenAndServe<FullEdge>(options, serve, &metrics, &gate, hardening);
    case EdgeMode::kCache:
      return OpenAndServe<CacheEdge>(options, serve, &metrics, &gate, hardening);
  }
  return StartupFailure(absl::InternalError("unknown edge mode"));
}

}  // namespace kv::server

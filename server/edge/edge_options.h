#pragma once
// How an edge node is configured: the mode, parsed once from --mode into EdgeMode, and the
// options both modes share, with each mode's own options apart.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "replication/log_retention.h"
#include "server/edge/upstream_client.h"
#include "server/node/cluster_data.h"
#include "server/node/limits.h"
#include "server/watch/watch_hub.h"

namespace kv::server {

enum class EdgeMode {
  // Holds every key in RocksDB; answers List; can be the upstream of other edges (a relay).
  kFull,
  // Holds only hot keys in memory (W-TinyLFU); reads cold keys through; List goes upstream.
  kCache,
};

// "full" or "cache"; anything else is INVALID_ARGUMENT naming the flag.
absl::StatusOr<EdgeMode> ParseEdgeMode(absl::string_view text);
const char* EdgeModeName(EdgeMode mode);

// A full edge's own options.
struct FullModeOptions {
  // RocksDB block cache.
  uint64_t block_cache_bytes = 256ull << 20;
  // --hot-cache-bytes: the in-memory hot-key read cache in front of RocksDB
  // (server/edge/hot_read_cache.h); 0 = none, every read goes to RocksDB.
  uint64_t hot_cache_bytes = 64ull << 20;
  // --min-free-disk: free space the store keeps; the stream and snapshots stop before it.
  uint64_t min_free_disk_bytes = 1ull << 30;
  // As a relay: change-log retention, the values it pushes down (larger ones go as
  // invalidations), and its publisher's in-memory tail.
  replication::LogRetentionOptions retention;
  uint64_t push_value_limit = 64 << 10;
  size_t publisher_tail_changes = 100000;
  uint64_t publisher_tail_bytes = 64ull << 20;
};

// A cache edge's own options.
struct CacheModeOptions {
  // Memory for cached keys, values and their overhead.
  uint64_t cache_bytes = 256ull << 20;
};

struct EdgeOptions {
  EdgeMode mode = EdgeMode::kFull;
  std::string data_dir;
  // Name in logs, Status and the upstream's downstream table.
  std::string node_id = "edge";
  Limits limits;
  UpstreamOptions upstream;
  // Default bound for bounded reads (--max-staleness); also the readiness bound.
  absl::Duration max_staleness = absl::Seconds(5);
  // How long a min_version read waits for the stream before going upstream.
  absl::Duration min_version_wait = absl::Milliseconds(200);
  // Ping period on the replication stream.
  absl::Duration ping_interval = absl::Milliseconds(50);
  // Reconnect backoff bounds.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // --allow-cluster-change: an upstream serving another cluster than the local data's may
  // replace that data (replication/cluster_change.h). Off, it is refused and the data kept.
  bool allow_cluster_change = false;
  // Every change of a reserved key (cluster data: the token key set) this edge holds, applies
  // or fetches. May be empty.
  ClusterDataObserver on_cluster_data;
  // The cluster data is needed (tokens are checked here): a cache edge, which holds only some
  // keys, fetches it from its upstream when it has none from the history it follows.
  bool fetch_cluster_data = false;
  // Watchers (KV.Watch, GET /v1/watch); node_id, max_value_bytes (= full.push_value_limit) and
  // max_key_bytes are filled in by the node.
  WatchHubOptions watch;
  // Only the options of `mode` are used.
  FullModeOptions full;
  CacheModeOptions cache;
};

}  // namespace kv::server

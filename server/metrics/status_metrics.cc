#include "server/metrics/status_metrics.h"

#include <limits>
#include <utility>

namespace kv::server {
namespace {

double Seconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

void ExportReplication(const kvstore::v1::ReplicationStatus& r, MetricSink& sink) {
  sink.Gauge("kv_replication_connected", "1 when the stream to the upstream is connected.", {},
             r.connected() ? 1 : 0);
  sink.Gauge("kv_replication_state",
             "1 for the replication state the edge is in (waiting, snapshotting, streaming, "
             "backoff).",
             {{"state", r.state().empty() ? "unknown" : r.state()}}, 1);
  sink.Gauge("kv_max_staleness_seconds", "The node's default staleness bound (--max-staleness).",
             {}, Seconds(r.max_staleness_micros()));
  sink.Counter("kv_replication_snapshots_total", "Snapshots loaded from the upstream.", {},
               r.snapshots());
  sink.Counter("kv_replication_resumes_total",
               "Stream (re)connections that resumed from the applied version.", {}, r.resumes());
  sink.Counter("kv_replication_resets_total",
               "RESET answers (the upstream's log no longer held the next version).", {},
               r.resets());
  sink.Counter("kv_replication_reconnects_total", "Stream reconnect attempts.", {}, r.reconnects());
  sink.Counter("kv_replication_changes_applied_total", "Changes applied from the stream.", {},
               r.changes_applied());
  sink.Counter("kv_replication_batches_applied_total", "Change batches applied from the stream.",
               {}, r.batches_applied());
  sink.Gauge("kv_replication_pending_value_fetches",
             "Invalidated large values a full edge is still fetching.", {},
             r.pending_value_fetches());
}

void ExportCache(const kvstore::v1::CacheStatus& c, MetricSink& sink) {
  sink.Counter("kv_cache_hits_total",
               "Reads answered from the cache (a cache edge's, or a full edge's hot read cache; "
               "including cached absence).",
               {}, c.hits());
  sink.Counter("kv_cache_misses_total", "Reads that missed the cache.", {}, c.misses());
  sink.Counter("kv_cache_promotions_total", "Entries promoted from probation to protected.", {},
               c.promotions());
  sink.Counter("kv_cache_evictions_total", "Entries evicted.", {}, c.evictions());
  sink.Counter("kv_cache_rejections_total", "Candidates refused by TinyLFU admission.", {},
               c.rejections());
  sink.Counter("kv_cache_upstream_fetches_total", "Cold reads fetched from the upstream.", {},
               c.upstream_fetches());
  sink.Counter("kv_cache_coalesced_waits_total",
               "Cold reads that joined a fetch already in flight for the same key.", {},
               c.coalesced_waits());
  sink.Gauge("kv_cache_bytes", "Bytes held by the cache (keys, values, overhead).", {},
             c.bytes_used());
  sink.Gauge("kv_cache_bytes_limit",
             "The cache's byte budget (--cache-bytes; a full edge's --hot-cache-bytes).", {},
             c.bytes_limit());
  sink.Gauge("kv_cache_entries", "Entries in the cache, including cached absence.", {},
             c.entries());
  sink.Gauge("kv_cache_negative_entries", "Cached \"not found\" entries.", {},
             c.negative_entries());
  sink.Gauge("kv_cache_pending_fetches", "Upstream fetches in flight.", {}, c.pending_fetches());
}

}  // namespace

void ExportStatus(const kvstore::v1::StatusResponse& s, MetricSink& sink) {
  sink.Gauge("kv_node_info", "The node's identity (value is always 1).",
             {{"role", s.role()},
              {"mode", s.mode()},
              {"node_id", s.node_id()},
              {"cluster_id", s.cluster_id()}},
             1);
  sink.Gauge("kv_ready", "1 when the node serves reads within its staleness bound.", {},
             s.ready() ? 1 : 0);
  sink.Gauge("kv_uptime_seconds", "Seconds since the node started.", {}, s.uptime_seconds());
  sink.Gauge("kv_head_version", "Central: last committed version. Edge: last applied version.", {},
             s.head_version());
  sink.Gauge("kv_staleness_seconds",
             "How far behind the central node this node may be (0 at the central node).", {},
             !s.has_replication() ? 0.0
             // A node never fresh reports INT64_MAX micros: +Inf, not 292,000 years.
             : s.replication().staleness_micros() == std::numeric_limits<int64_t>::max()
                 ? std::numeric_limits<double>::infinity()
                 : Seconds(s.replication().staleness_micros()));
  sink.Gauge("kv_log_oldest_version", "Oldest version in the change log (0 = empty).", {},
             s.oldest_log_version());
  sink.Gauge("kv_log_entries", "Entries in the change log.", {}, s.log_entries());
  sink.Gauge("kv_keys", "Keys in the store (estimate on full nodes).", {}, s.key_count());
  sink.Gauge("kv_data_bytes", "Approximate bytes of stored data.", {}, s.approximate_data_bytes());
  if (s.has_replication()) ExportReplication(s.replication(), sink);
  if (s.has_cache()) ExportCache(s.cache(), sink);
  if (s.disk_free_bytes() > 0 || s.min_free_disk_bytes() > 0) {  // nodes with a store
    sink.Gauge("kv_disk_free_bytes", "Free space on the file system of --data-dir.", {},
               s.disk_free_bytes());
    sink.Gauge("kv_disk_min_free_bytes", "--min-free-disk: the reserve writes may not use.", {},
               s.min_free_disk_bytes());
    sink.Gauge("kv_disk_reserve_exceeded",
               "1 while free space is below --min-free-disk and writes are refused.", {},
               s.disk_reserve_exceeded() ? 1 : 0);
    sink.Counter("kv_disk_write_refusals_total",
                 "Write batches refused for disk space (RESOURCE_EXHAUSTED) since the start.", {},
                 s.disk_write_refusals());
  }
  sink.Counter("kv_checksum_mismatches_total",
               "Times this node's data disagreed with the central node's checksum (a full edge, "
               "then resynchronised) or a cached entry with the stream (a cache edge, dropped).",
               {}, s.checksum_mismatches());

  sink.Gauge("kv_downstreams", "Downstream edges subscribed to this node.", {},
             s.downstreams_size());
  for (const auto& d : s.downstreams()) {
    const MetricSink::Labels labels = {{"downstream", d.node_id()}};
    sink.Gauge("kv_downstream_acked_version",
               "Highest version the downstream acknowledged applying.", labels, d.acked_version());
    sink.Gauge("kv_downstream_lag_versions",
               "Versions this node holds that the downstream has not acknowledged.", labels,
               d.lag_versions());
    sink.Gauge("kv_downstream_lag_seconds",
               "Age of the oldest change the downstream has not acknowledged.", labels,
               Seconds(d.lag_micros()));
  }
}

int AddStatusCollector(Metrics& metrics,
                       std::function<void(kvstore::v1::StatusResponse*)> get_status) {
  return metrics.AddCollector([get_status = std::move(get_status)](MetricSink& sink) {
    kvstore::v1::StatusResponse status;
    get_status(&status);
    ExportStatus(status, sink);
  });
}

}  // namespace kv::server

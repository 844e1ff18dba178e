#pragma once
// Turns a node's Admin.Status snapshot into scrape-time gauges and counters, so every node kind
// exports the same series from the same source of truth (see docs/http.md for the list).

#include <functional>

#include "kvstore/v1/admin.pb.h"
#include "server/metrics/metrics.h"

namespace kv::server {

// Reports the fields of `status` into `sink`: kv_head_version, kv_staleness_seconds,
// kv_downstream_lag_versions{downstream=...}, kv_cache_hits_total, ... Replication series appear
// only when status has replication, cache series only when it has cache.
void ExportStatus(const kvstore::v1::StatusResponse& status, MetricSink& sink);

// Registers a collector that calls `get_status` on every scrape and exports the result. Returns
// the collector id (for Metrics::RemoveCollector). `get_status` is typically
// [node](kvstore::v1::StatusResponse* s) { node->GetStatus(s); }.
int AddStatusCollector(Metrics& metrics,
                       std::function<void(kvstore::v1::StatusResponse*)> get_status);

}  // namespace kv::server

#pragma once
// Exports a RespServer's counters (RespServer::stats()) as scrape-time kv_resp_* series, so its
// limits are visible when they bite: refused connections, failed accepts, protocol errors,
// connections closed for not reading their replies or for idling.

#include "server/metrics/metrics.h"
#include "server/resp/resp_server.h"

namespace kv::server::resp {

// Reports `stats` into `sink`: kv_resp_connections_open, kv_resp_connections_accepted_total,
// kv_resp_connections_refused_total, kv_resp_accept_errors_total, kv_resp_commands_total,
// kv_resp_protocol_errors_total, kv_resp_output_limit_closes_total, kv_resp_idle_closes_total.
void ExportRespServerStats(const RespServerStats& stats, MetricSink& sink);

// Registers a collector that exports server->stats() on every scrape; returns its id. Call
// metrics.RemoveCollector(id) before `server` is destroyed.
int AddRespServerCollector(Metrics& metrics, const RespServer* server);

}  // namespace kv::server::resp

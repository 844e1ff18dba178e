#pragma once
// Exports an HttpServer's counters (HttpServer::stats()) as scrape-time kv_http_* series, so the
// limits of docs/http.md ("Limits") are visible when they bite: refused connections, failed
// accepts, write timeouts, refused answers and the answer bytes held.

#include "server/http/http_server.h"
#include "server/metrics/metrics.h"

namespace kv::server {

// Reports `stats` into `sink`: kv_http_connections_open, kv_http_connections_accepted_total,
// kv_http_connections_refused_total, kv_http_accept_errors_total, kv_http_write_timeouts_total,
// kv_http_answers_refused_total, kv_http_pending_response_bytes.
void ExportHttpServerStats(const HttpServerStats& stats, MetricSink& sink);

// Registers a collector that exports server->stats() on every scrape; returns its id. Call
// metrics.RemoveCollector(id) before `server` is destroyed.
int AddHttpServerCollector(Metrics& metrics, const HttpServer* server);

}  // namespace kv::server

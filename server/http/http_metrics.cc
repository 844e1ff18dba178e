#include "server/http/http_metrics.h"

namespace kv::server {

void ExportHttpServerStats(const HttpServerStats& stats, MetricSink& sink) {
  sink.Gauge("kv_http_connections_open", "Open HTTP connections.", {},
             static_cast<double>(stats.connections_open));
  sink.Counter("kv_http_connections_accepted_total", "HTTP connections admitted.", {},
               static_cast<double>(stats.connections_accepted));
  sink.Counter("kv_http_connections_refused_total",
               "HTTP connections answered 503 and closed because max_connections were open.", {},
               static_cast<double>(stats.connections_refused));
  sink.Counter("kv_http_accept_errors_total",
               "Failed HTTP accepts (e.g. out of descriptors), each retried after 100 ms.", {},
               static_cast<double>(stats.accept_errors));
  sink.Counter("kv_http_write_timeouts_total",
               "HTTP connections closed because the client stopped reading an answer.", {},
               static_cast<double>(stats.write_timeouts));
  sink.Counter("kv_http_answers_refused_total",
               "HTTP answers replaced by 503 because too many answer bytes were waiting for "
               "clients to read them.",
               {}, static_cast<double>(stats.answers_refused));
  sink.Gauge("kv_http_pending_response_bytes",
             "Bytes of HTTP answer bodies held for connections still writing them (shared bodies "
             "once).",
             {}, static_cast<double>(stats.pending_response_bytes));
}

int AddHttpServerCollector(Metrics& metrics, const HttpServer* server) {
  return metrics.AddCollector(
      [server](MetricSink& sink) { ExportHttpServerStats(server->stats(), sink); });
}

}  // namespace kv::server

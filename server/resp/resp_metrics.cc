#include "server/resp/resp_metrics.h"

namespace kv::server::resp {

void ExportRespServerStats(const RespServerStats& stats, MetricSink& sink) {
  sink.Gauge("kv_resp_connections_open", "Open RESP (Redis protocol) connections.", {},
             static_cast<double>(stats.connections_open));
  sink.Counter("kv_resp_connections_accepted_total", "RESP connections admitted.", {},
               static_cast<double>(stats.connections_accepted));
  sink.Counter("kv_resp_connections_refused_total",
               "RESP connections refused because max_connections were open.", {},
               static_cast<double>(stats.connections_refused));
  sink.Counter("kv_resp_accept_errors_total",
               "Failed RESP accepts (e.g. out of descriptors), each retried after 100 ms.", {},
               static_cast<double>(stats.accept_errors));
  sink.Counter("kv_resp_commands_total", "RESP commands dispatched.", {},
               static_cast<double>(stats.commands));
  sink.Counter("kv_resp_protocol_errors_total",
               "RESP connections closed after a malformed request.", {},
               static_cast<double>(stats.protocol_errors));
  sink.Counter("kv_resp_output_limit_closes_total",
               "RESP connections closed because their client did not read its replies "
               "(max output bytes held).",
               {}, static_cast<double>(stats.output_limit_closes));
  sink.Counter("kv_resp_idle_closes_total", "RESP connections closed by the idle timeout.", {},
               static_cast<double>(stats.idle_closes));
}

int AddRespServerCollector(Metrics& metrics, const RespServer* server) {
  return metrics.AddCollector(
      [server](MetricSink& sink) { ExportRespServerStats(server->stats(), sink); });
}

}  // namespace kv::server::resp

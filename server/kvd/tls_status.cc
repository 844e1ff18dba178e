#include "server/kvd/tls_status.h"

#include "absl/time/clock.h"

namespace kv::server {
namespace {

int64_t UnixSeconds(absl::Time t) { return t == absl::InfinitePast() ? 0 : absl::ToUnixSeconds(t); }

}  // namespace

void FillTlsStatus(const tls::TlsState& state, kvstore::v1::TlsStatus* out) {
  out->set_serving(state.has_identity);
  if (state.has_identity) {
    out->set_cert_subject(state.cert.subject);
    out->set_cert_serial(state.cert.serial_hex);
    out->set_cert_not_before(UnixSeconds(state.cert.not_before));
    out->set_cert_not_after(UnixSeconds(state.cert.not_after));
  }
  out->set_cert_file(state.cert_file);
  out->set_key_file(state.key_file);
  out->set_ca_file(state.ca_file);
  out->set_grpc_client_certs(tls::ClientCertPolicyName(state.grpc_client_certs));
  out->set_http_client_certs(tls::ClientCertPolicyName(state.http_client_certs));
  out->set_last_reload(UnixSeconds(state.loaded_at));
  out->set_last_reload_error(state.last_error);
  out->set_last_reload_error_time(UnixSeconds(state.last_error_at));
  out->set_reloads(state.reloads);
  out->set_reload_failures(state.reload_failures);
  out->set_reload_interval_seconds(absl::ToInt64Seconds(state.reload_interval));
  out->set_reload_failing(state.reload_failing);
}

void ExportTlsStatus(const kvstore::v1::TlsStatus& status, absl::Time now, MetricSink& sink) {
  if (status.serving()) {
    sink.Gauge("kv_tls_cert_expiry_seconds",
               "Seconds until the TLS certificate in use expires (negative: expired)", {},
               static_cast<double>(status.cert_not_after() - absl::ToUnixSeconds(now)));
    sink.Gauge("kv_tls_cert_not_after_timestamp_seconds",
               "End of the validity of the TLS certificate in use, Unix seconds", {},
               static_cast<double>(status.cert_not_after()));
  }
  sink.Gauge("kv_tls_last_reload_timestamp_seconds",
             "When the TLS key material in use was loaded, Unix seconds", {},
             static_cast<double>(status.last_reload()));
  sink.Gauge("kv_tls_reload_failing",
             "1 while the latest TLS reload attempt was refused (the previous material is in use)",
             {}, status.reload_failing() ? 1 : 0);
  sink.Counter("kv_tls_reloads_total", "New TLS key materials loaded since the start", {},
               static_cast<double>(status.reloads()));
  sink.Counter("kv_tls_reload_failures_total",
               "New TLS key materials refused (unreadable, mismatched, expired, ...)", {},
               static_cast<double>(status.reload_failures()));
}

int AddTlsCollector(Metrics& metrics, const tls::NodeTls* tls) {
  return metrics.AddCollector([tls](MetricSink& sink) {
    kvstore::v1::TlsStatus status;
    FillTlsStatus(tls->State(), &status);
    ExportTlsStatus(status, absl::Now(), sink);
  });
}

}  // namespace kv::server

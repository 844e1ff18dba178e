#include "server/kvd/serve.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "kvstore/v1/replication.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "server/access/authorized_node.h"
#include "server/http/gateway.h"
#include "server/http/http_metrics.h"
#include "server/http/http_server.h"
#include "server/http/watch_events.h"
#include "server/kvd/grpc_self_check.h"
#include "server/kvd/health_reporter.h"
#include "server/kvd/tls_status.h"
#include "server/metrics/status_metrics.h"
#include "server/resp/resp_metrics.h"
#include "server/resp/resp_server.h"
#include "server/rpc/admin_service.h"
#include "server/rpc/connection_limiter.h"
#include "server/rpc/kv_service.h"

namespace kv::server {
namespace {

// SIGINT and SIGTERM stop the node; SIGHUP reloads its TLS files.
sigset_t ServeSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

// Waits for SIGINT or SIGTERM; reloads `node_tls` on every SIGHUP meanwhile.
int WaitForShutdownSignal(tls::NodeTls* node_tls) {
  sigset_t set = ServeSignals();
  for (;;) {
    int signal_number = 0;
    if (sigwait(&set, &signal_number) != 0) continue;
    if (signal_number != SIGHUP) return signal_number;
    if (node_tls == nullptr) {
      KV_LOG(INFO) << "received SIGHUP: no TLS files to reload";
      continue;
    }
    KV_LOG(INFO) << "received SIGHUP: reloading the TLS files";
    node_tls->Reload(/*forced=*/true);
  }
}

std::string HostOf(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

absl::Status WriteReadyFile(const std::string& path, const std::string& grpc_address,
                            const std::string& http_address, const std::string& resp_address) {
  nlohmann::json j = {
      {"grpc", grpc_address}, {"http", http_address}, {"resp", resp_address}, {"pid", getpid()}};
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump() << "\n";
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

// The name the self-check expects on the node's own certificate: the host it connects to when
// the certificate lists it, else the certificate's first name.
std::string SelfCheckServerName(const tls::TlsState& state, const std::string& host) {
  for (const std::string& name : state.cert.names) {
    if (name == host) return "";
  }
  return state.cert.names.empty() ? "" : state.cert.names.front();
}

// What the self-check adds to a failure while the connection cap refuses new connections.
std::string CapContext(const ConnectionLimiter* limiter) {
  if (!limiter->at_cap()) return "";
  return absl::StrCat(limiter->open(), " gRPC connections are open, --max-connections ",
                      limiter->max_connections(), ": new ones are refused");
}

// kv_grpc_* series: the connection cap and the self-check. Returns the collector id.
int AddGrpcListenerCollector(Metrics& metrics, const ConnectionLimiter* limiter,
                             const GrpcSelfCheck* check) {
  return metrics.AddCollector([limiter, check](MetricSink& sink) {
    if (limiter != nullptr) {
      sink.Gauge("kv_grpc_connections", "Open gRPC connections (an upper bound; exact at the cap)",
                 {}, limiter->open());
      sink.Gauge("kv_grpc_max_connections", "--max-connections", {}, limiter->max_connections());
      sink.Counter("kv_grpc_connections_refused_total",
                   "gRPC connections reset at once because --max-connections were open", {},
                   static_cast<double>(limiter->refused()));
    }
    sink.Counter("kv_grpc_self_check_failures_total",
                 "Readiness self-checks whose new connection to the gRPC port got no answer", {},
                 static_cast<double>(check->failures()));
  });
}

// kv_watchers and the watch refusals, read from the hub at scrape time.
int AddWatchCollector(Metrics& metrics, const WatchHub* hub) {
  return metrics.AddCollector([hub](MetricSink& sink) {
    sink.Gauge("kv_watchers", "Watch streams open at this node (gRPC and HTTP)", {},
               static_cast<double>(hub->watchers()));
    sink.Counter("kv_watchers_ended_slow_total",
                 "Watchers ended with RESOURCE_EXHAUSTED for falling --watch-max-lag behind", {},
                 static_cast<double>(hub->slow_watchers_ended()));
    sink.Counter("kv_watchers_refused_total", "Watches refused because --max-watchers were open",
                 {}, static_cast<double>(hub->refused_by_limit()));
  });
}

}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ServeSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::Status Serve(Node* node, const ServeOptions& options, ServeHooks hooks) {
  tls::NodeTls* const node_tls = options.tls.get();
  const bool serve_tls = node_tls != nullptr && node_tls->has_identity();
  // Every KV call passes the caller's scope checks; Status and readiness include the key set.
  AuthorizedNode authorized(node, hooks.gate);
  // The cap on gRPC connections; gRPC calls it on every accept, so it outlives the server.
  std::unique_ptr<ConnectionLimiter> limiter;
  if (options.max_connections > 0) {
    limiter = std::make_unique<ConnectionLimiter>(options.max_connections);
  }
  // Readiness also needs the gRPC port to answer a new connection (started once it is bound).
  SelfCheckOptions check_options;
  check_options.credentials =
      serve_tls ? node_tls->GrpcChannelCredentials() : grpc::InsecureChannelCredentials();
  if (serve_tls) {
    check_options.server_name = SelfCheckServerName(node_tls->State(), HostOf(options.listen));
  }
  if (limiter != nullptr) check_options.context = [l = limiter.get()] { return CapContext(l); };
  GrpcSelfCheck self_check(std::move(check_options));
  // Readiness, Status and the HTTP gateway see the self-check; the gRPC KV path does not.
  SelfCheckedNode checked(&authorized, &self_check);
  // Admin.Status also reports the TLS state; the hot paths do not go through it.
  std::unique_ptr<Node> status_node;
  if (node_tls != nullptr) status_node = std::make_unique<TlsStatusNode>(&checked, node_tls);
  KvService kv_service(&authorized, hooks.gate, hooks.tracker);
  kv_service.SetWatch(hooks.watch_hub, &authorized);
  AdminService admin_service(status_node != nullptr ? status_node.get() : &checked, hooks.key_sets,
                             hooks.gate, hooks.tracker);
  admin_service.SetBackups(hooks.backups);

  // grpc.health.v1 (HealthReporter) and server reflection, for grpcurl and load balancers.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (limiter != nullptr) builder.SetOption(limiter->Option());
  int port = 0;
  builder.AddListeningPort(
      options.listen,
      serve_tls ? node_tls->GrpcServerCredentials() : grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  // Detect dead downstreams on idle streams, and let clients keep connections alive.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // gRPC binds with SO_REUSEPORT by default: a second node on a busy port would start and share
  // it silently instead of failing with "address in use".
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&kv_service);
  builder.RegisterService(&admin_service);
  for (grpc::Service* s : hooks.extra_services) builder.RegisterService(s);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen,
                                               " (address in use, or not a valid HOST:PORT)"));
  }
  std::string grpc_address = absl::StrCat(HostOf(options.listen), ":", port);
  self_check.Start(grpc_address);
  HealthReporter health(
      &checked, server.get(),
      {kvstore::v1::KV::service_full_name(), kvstore::v1::Admin::service_full_name(),
       kvstore::v1::Replication::service_full_name()});
  AddStatusCollector(*hooks.metrics,
                     [&checked](kvstore::v1::StatusResponse* s) { checked.GetStatus(s); });
  if (node_tls != nullptr) AddTlsCollector(*hooks.metrics, node_tls);

  std::unique_ptr<HttpServer> http;
  std::string http_address;
  int http_collector = 0;  // kv_http_* series; removed before `http` goes away
  if (!options.http_listen.empty()) {
    HttpServerOptions http_options;
    http_options.listen = options.http_listen;
    http_options.threads = options.http_threads;
    http_options.idle_timeout = options.http_idle_timeout;
    http_options.write_timeout = options.http_write_timeout;
    http_options.max_connections = options.http_max_connections;
    http_options.max_pending_response_bytes = options.http_max_pending_bytes;
    if (serve_tls) http_options.tls_context = [node_tls] { return node_tls->HttpContext(); };
    http = std::make_unique<HttpServer>(http_options);
    GatewayOptions gateway;
    gateway.read_timeout = options.http_read_timeout;
    RegisterGatewayRoutes(http.get(), &checked, hooks.metrics, gateway, hooks.gate);
    if (hooks.watch_hub != nullptr) {
      RegisterWatchRoute(http.get(), hooks.watch_hub, &authorized, hooks.gate);
    }
    if (absl::Status s = http->Start(); !s.ok()) {
      server->Shutdown(std::chrono::system_clock::now());
      return s;
    }
    http_address = http->bound_address();
    http_collector = AddHttpServerCollector(*hooks.metrics, http.get());
  }
  // The Redis protocol: one more adapter over the same node (docs/resp.md).
  std::unique_ptr<resp::RespServer> resp_server;
  std::string resp_address;
  int resp_collector = 0;  // kv_resp_* series; removed before `resp_server` goes away
  if (!options.resp_listen.empty()) {
    resp::RespServerOptions resp_options;
    resp_options.listen = options.resp_listen;
    resp_options.threads = options.resp_threads;
    resp_options.max_connections = options.resp_max_connections;
    resp_options.idle_timeout = options.resp_idle_timeout;
    resp_options.max_output_bytes = options.resp_max_output_bytes;
    resp_options.command_timeout = options.http_read_timeout;
    resp_options.limits = options.limits;
    resp_options.parser = resp::ParserLimitsFor(options.limits);
    if (hooks.gate != nullptr) {
      // Tokens from AUTH are checked where the command arrives, as for gRPC and HTTP.
      resp_options.admit = [gate = hooks.gate](std::optional<absl::string_view> authorization,
                                               CallContext* call) {
        return gate->Admit(authorization, call);
      };
    }
    resp_server = std::make_unique<resp::RespServer>(&authorized, resp_options);
    if (absl::Status s = resp_server->Start(); !s.ok()) {
      if (http) http->Stop();
      if (http_collector != 0) hooks.metrics->RemoveCollector(http_collector);
      server->Shutdown(std::chrono::system_clock::now());
      return s;
    }
    resp_address = resp_server->bound_address();
    resp_collector = resp::AddRespServerCollector(*hooks.metrics, resp_server.get());
    KV_LOG(INFO) << "serving RESP (Redis protocol) on " << resp_address;
  }
  admin_service.SetListenAddresses(grpc_address, http_address);

  KV_LOG(INFO) << "serving gRPC" << (serve_tls ? " over TLS" : "") << " on " << grpc_address
               << (http_address.empty()
                       ? ""
                       : (serve_tls ? ", HTTPS on " : ", HTTP on ") + http_address);
  if (!options.ready_file.empty()) {
    if (auto s = WriteReadyFile(options.ready_file, grpc_address, http_address, resp_address);
        !s.ok()) {
      server->Shutdown();
      return s;
    }
  }
  if (hooks.on_serving) hooks.on_serving(grpc_address);
  const int grpc_collector = AddGrpcListenerCollector(*hooks.metrics, limiter.get(), &self_check);
  const int watch_collector =
      hooks.watch_hub != nullptr ? AddWatchCollector(*hooks.metrics, hooks.watch_hub) : 0;
  if (limiter != nullptr) {
    KV_LOG(INFO) << "gRPC connections capped at " << limiter->max_connections()
                 << " (--max-connections)";
  }

  if (node_tls != nullptr) node_tls->StartWatching();
  const int signal_number = WaitForShutdownSignal(node_tls);
  KV_LOG(INFO) << "received " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
               << ", shutting down";
  if (node_tls != nullptr) node_tls->StopWatching();
  self_check.Stop();  // the port is about to close: keep the last result
  health.Stop();      // probes see NOT_SERVING while calls drain
  hooks.metrics->RemoveCollector(grpc_collector);
  if (watch_collector != 0) hooks.metrics->RemoveCollector(watch_collector);

  // Ends replication streams, lets unary calls in flight finish (refusing new ones), then
  // stops the server at once: gRPC's own grace period would also wait out idle connections.
  if (hooks.before_shutdown) hooks.before_shutdown();
  if (hooks.watch_hub != nullptr) hooks.watch_hub->FinishAll();  // watch streams never end alone
  if (hooks.backups != nullptr) hooks.backups->Cancel();  // else the drain waits for the copy
  if (http) http->Stop();                                 // answers reads in flight, then closes
  if (resp_server) resp_server->Stop();                   // answers commands in flight, then closes
  if (resp_collector != 0) hooks.metrics->RemoveCollector(resp_collector);
  if (http_collector != 0) hooks.metrics->RemoveCollector(http_collector);
  int left = hooks.tracker->Drain(options.shutdown_grace);
  if (left > 0) KV_LOG(WARN) << left << " calls still running after the grace period; cancelling";
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  server->Wait();
  if (hooks.after_shutdown) hooks.after_shutdown();
  KV_LOG(INFO) << "shut down cleanly";
  return absl::OkStatus();
}

}  // namespace kv::server

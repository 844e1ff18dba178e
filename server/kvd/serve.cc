#include "server/kvd/serve.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "nlohmann/json.hpp"
#include "server/rpc/admin_service.h"
#include "server/http/gateway.h"
#include "server/http/http_metrics.h"
#include "server/http/http_server.h"
#include "server/rpc/kv_service.h"
#include "server/metrics/status_metrics.h"

namespace kv::server {
namespace {

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

std::string HostOf(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

absl::Status WriteReadyFile(const std::string& path, const std::string& grpc_address,
                            const std::string& http_address) {
  nlohmann::json j = {{"grpc", grpc_address}, {"http", http_address}, {"pid", getpid()}};
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

}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::Status Serve(Node* node, const ServeOptions& options, ServeHooks hooks) {
  KvService kv_service(node, hooks.tracker);
  AdminService admin_service(node, hooks.tracker);

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &port);
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
  AddStatusCollector(*hooks.metrics,
                     [node](kvstore::v1::StatusResponse* s) { node->GetStatus(s); });

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
    http = std::make_unique<HttpServer>(http_options);
    GatewayOptions gateway;
    gateway.read_timeout = options.http_read_timeout;
    RegisterGatewayRoutes(http.get(), node, hooks.metrics, gateway);
    if (absl::Status s = http->Start(); !s.ok()) {
      server->Shutdown(std::chrono::system_clock::now());
      return s;
    }
    http_address = http->bound_address();
    http_collector = AddHttpServerCollector(*hooks.metrics, http.get());
  }
  admin_service.SetListenAddresses(grpc_address, http_address);

  KV_LOG(INFO) << "serving gRPC on " << grpc_address
               << (http_address.empty() ? "" : ", HTTP on " + http_address);
  if (!options.ready_file.empty()) {
    if (auto s = WriteReadyFile(options.ready_file, grpc_address, http_address); !s.ok()) {
      server->Shutdown();
      return s;
    }
  }
  if (hooks.on_serving) hooks.on_serving(grpc_address);

  sigset_t set = ShutdownSignals();
  int signal_number = 0;
  sigwait(&set, &signal_number);
  KV_LOG(INFO) << "received " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
               << ", shutting down";

  // Ends replication streams, lets unary calls in flight finish (refusing new ones), then
  // stops the server at once: gRPC's own grace period would also wait out idle connections.
  if (hooks.before_shutdown) hooks.before_shutdown();
  if (http) http->Stop();  // answers reads in flight, then closes
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

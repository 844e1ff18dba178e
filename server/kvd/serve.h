#pragma once
// Runs a node's RPC server (and, when asked, its HTTP gateway) until SIGINT/SIGTERM, then shuts
// down in order: stop accepting, end replication streams, finish in-flight calls, stop the node.
// With TLS both listeners speak TLS; the certificate files are watched and SIGHUP reloads them
// at once (common/tls/node_tls.h).

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/tls/node_tls.h"
#include "server/access/gatekeeper.h"
#include "server/edge/upstream_client.h"
#include "server/metrics/metrics.h"
#include "server/node/backup_admin.h"
#include "server/node/key_set_admin.h"
#include "server/node/limits.h"
#include "server/node/node.h"
#include "server/rpc/call_tracker.h"
#include "server/watch/watch_hub.h"

namespace kv::server {

struct ServeOptions {
  // gRPC address, HOST:PORT; port 0 picks a free port (see ready_file).
  std::string listen = "127.0.0.1:7000";
  // Open gRPC connections at most; the excess is reset at once (server/rpc/connection_limiter.h).
  // 0 = no cap. kvd derives it from the descriptor limit (descriptor_limit.h).
  int max_connections = 0;
  // HTTP gateway address; empty = no HTTP.
  std::string http_listen;
  // Redis protocol (RESP2/RESP3) address; empty = no RESP (docs/resp.md).
  std::string resp_listen;
  // RESP server settings (server/resp/resp_options.h has their meaning).
  int resp_threads = 1;
  int resp_max_connections = 10'000;
  absl::Duration resp_idle_timeout = absl::Seconds(300);
  size_t resp_max_output_bytes = size_t{64} << 20;
  // The node's request limits: RESP answers keys and values over them with clear errors, and
  // its parser's limits follow them.
  Limits limits;
  // Largest gRPC message accepted or sent.
  int max_message_bytes = 26 << 20;
  // When set, written once serving: {"grpc": "...", "http": "...", "resp": "...", "pid": N}.
  std::string ready_file;
  // How long shutdown waits for in-flight calls before cancelling them.
  absl::Duration shutdown_grace = absl::Seconds(5);
  // HTTP server threads.
  int http_threads = 1;
  // Deadline the node gets for one HTTP read.
  absl::Duration http_read_timeout = absl::Seconds(10);
  // HTTP limits (docs/http.md, "Limits"); defaults as in HttpServerOptions.
  absl::Duration http_idle_timeout = absl::Seconds(60);
  absl::Duration http_write_timeout = absl::Seconds(30);
  int http_max_connections = 4096;
  size_t http_max_pending_bytes = size_t{256} << 20;
  // TLS of both listeners (when it has a certificate); null = plain text. Serve watches its
  // files, reloads them on SIGHUP and reports them in Status and /metrics.
  std::shared_ptr<tls::NodeTls> tls;
  // How an edge secures its upstream channel (RunEdge copies it into its UpstreamOptions).
  UpstreamSecurity upstream_security;
};

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread it starts later, so
// Serve() can wait for them. Call first thing in main().
void BlockShutdownSignals();

// What a role adds to the common server.
struct ServeHooks {
  // Counts the unary calls of every service, so shutdown can wait for them (required).
  CallTracker* tracker = nullptr;
  // The node's metrics, served on /metrics with the node's Status as gauges (required).
  Metrics* metrics = nullptr;
  // Checks callers' tokens (required). Every KV call, by gRPC or HTTP, then passes the scope
  // checks of an AuthorizedNode over `node`.
  Gatekeeper* gate = nullptr;
  // The central node's key set administration; null elsewhere.
  KeySetAdmin* key_sets = nullptr;
  // The central node's online backups (Admin.Backup); null elsewhere.
  BackupAdmin* backups = nullptr;
  // The node's watchers, served by KV.Watch and GET /v1/watch; null = no watches.
  WatchHub* watch_hub = nullptr;
  // Registered on the builder before start (the KV and Admin services are added by Serve).
  std::vector<grpc::Service*> extra_services;
  // Called after the server stopped accepting and before it waits for in-flight calls (ends
  // long-lived replication streams).
  std::function<void()> before_shutdown;
  // Called after the RPC server is down (stop the node).
  std::function<void()> after_shutdown;
  // Called once serving, with the bound addresses (e.g. to start replication).
  std::function<void(const std::string& grpc_address)> on_serving;
};

// Serves `node` until a shutdown signal; SIGHUP reloads the TLS files without stopping. Returns
// an error if it cannot start. Readiness includes a self-check of the gRPC port
// (grpc_self_check.h).
absl::Status Serve(Node* node, const ServeOptions& options, ServeHooks hooks);

}  // namespace kv::server

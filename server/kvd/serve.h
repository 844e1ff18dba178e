#pragma once
// Runs a node's RPC server (and, when asked, its HTTP gateway) until SIGINT/SIGTERM, then shuts
// down in order: stop accepting, end replication streams, finish in-flight calls, stop the node.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/rpc/call_tracker.h"
#include "server/metrics/metrics.h"
#include "server/node/node.h"

namespace kv::server {

struct ServeOptions {
  // gRPC address, HOST:PORT; port 0 picks a free port (see ready_file).
  std::string listen = "127.0.0.1:7000";
  // HTTP gateway address; empty = no HTTP.
  std::string http_listen;
  // Largest gRPC message accepted or sent.
  int max_message_bytes = 26 << 20;
  // When set, written once serving: {"grpc": "...", "http": "...", "pid": N}.
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
};

// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts later, so Serve()
// can wait for them. Call first thing in main().
void BlockShutdownSignals();

// What a role adds to the common server.
struct ServeHooks {
  // Counts the unary calls of every service, so shutdown can wait for them (required).
  CallTracker* tracker = nullptr;
  // The node's metrics, served on /metrics with the node's Status as gauges (required).
  Metrics* metrics = nullptr;
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

// Serves `node` until a shutdown signal. Returns an error if it cannot start.
absl::Status Serve(Node* node, const ServeOptions& options, ServeHooks hooks);

}  // namespace kv::server

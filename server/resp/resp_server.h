#pragma once
// The Redis-protocol (RESP2/RESP3) front end of a node: a Boost.Asio server whose connections
// run Redis commands on the node's own read and write paths (docs/resp.md is the reference).
//
// - One io_context per thread; accepted connections are spread round-robin over them, so a
//   connection's I/O and state need no strand or lock. The node may complete a command on any
//   thread: its reply is posted back to the connection's thread (or taken at once when the node
//   answered inline, as a full edge does for a local read).
// - Pipelining: a connection parses and dispatches every command it has read; replies go out in
//   command order whatever order the node answers in (ReplyQueue). Writes (SET, DEL) wait for
//   the commands before them and hold back the ones after, so a pipeline keeps Redis's order.
// - Limits (docs/resp.md, "Limits"): the parser's hard limits on arguments and bulk lengths,
//   max_connections (the excess is answered "-ERR max number of clients reached" and closed),
//   idle_timeout, max_output_bytes per connection (a client that pipelines without reading is
//   closed), max_commands_in_flight (backpressure), and accept failures (EMFILE) retried every
//   100 ms without ever stopping the accept loop.
// - Stop() stops accepting, closes idle connections, lets commands in flight finish for up to
//   drain_timeout, then closes everything and joins the threads. The node must outlive the
//   server and every command still in flight at the node.
//
//   RespServer server(node, options);
//   if (absl::Status s = server.Start(); !s.ok()) ...;
//   ... server.Stop();

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "server/node/node.h"
#include "server/resp/resp_options.h"
#include "server/resp/server_state.h"

namespace kv::server::resp {

struct RespShared;

class RespServer {
 public:
  // `node` must outlive the server and every command in flight at it.
  RespServer(Node* node, RespServerOptions options);
  // Stops the server if running.
  ~RespServer();
  RespServer(const RespServer&) = delete;
  RespServer& operator=(const RespServer&) = delete;

  // Binds, listens and starts the threads. InvalidArgument for bad options or a malformed
  // listen address, Unavailable when the address cannot be bound. Call once.
  absl::Status Start();
  // Idempotent; safe without Start(). Blocks for at most about drain_timeout. Must not be
  // called from the server's I/O threads.
  void Stop();

  // The bound port (after Start), e.g. when listening on port 0.
  int port() const;
  // "127.0.0.1:34567"
  std::string bound_address() const;
  RespServerStats stats() const;

 private:
  std::shared_ptr<RespShared> shared_;
  std::vector<std::thread> threads_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace kv::server::resp

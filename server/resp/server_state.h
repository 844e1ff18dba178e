#pragma once
// What the commands of every connection of one RespServer share: the node, the options, the
// SCAN cursor table and the server's counters (INFO, metrics).
//
// Created before the server starts; the node and options are constant after that, the cursors
// are thread-safe and the counters atomic.

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/node/node.h"
#include "server/resp/resp_options.h"
#include "server/resp/scan_cursors.h"

namespace kv::server::resp {

// Counters of a running server (RespServer::stats()).
struct RespServerStats {
  uint64_t connections_accepted = 0;  // admitted since Start
  uint64_t connections_refused = 0;   // answered "max number of clients reached" and closed
  int connections_open = 0;
  uint64_t accept_errors = 0;        // failed accepts (EMFILE, ...), each retried after 100 ms
  uint64_t commands = 0;             // commands dispatched
  uint64_t protocol_errors = 0;      // connections closed for a malformed request
  uint64_t output_limit_closes = 0;  // connections closed: max_output_bytes held for them
  uint64_t idle_closes = 0;          // connections closed by idle_timeout
};

struct ServerState {
  ServerState(Node* n, RespServerOptions o)
      : node(n), options(std::move(o)), cursors(options.max_scan_cursors), started(absl::Now()) {}

  RespServerStats Stats() const {
    RespServerStats s;
    s.connections_accepted = connections_accepted.load(std::memory_order_relaxed);
    s.connections_refused = connections_refused.load(std::memory_order_relaxed);
    s.connections_open = connections_open.load(std::memory_order_relaxed);
    s.accept_errors = accept_errors.load(std::memory_order_relaxed);
    s.commands = commands.load(std::memory_order_relaxed);
    s.protocol_errors = protocol_errors.load(std::memory_order_relaxed);
    s.output_limit_closes = output_limit_closes.load(std::memory_order_relaxed);
    s.idle_closes = idle_closes.load(std::memory_order_relaxed);
    return s;
  }

  Node* const node;
  const RespServerOptions options;
  ScanCursors cursors;
  const absl::Time started;
  // Set by Start before the I/O threads run.
  std::string bound_address;
  int port = 0;

  std::atomic<uint64_t> next_client_id{1};
  // Incremented by the accept loop only (admission), decremented by any connection.
  std::atomic<int> connections_open{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> accept_errors{0};
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> protocol_errors{0};
  std::atomic<uint64_t> output_limit_closes{0};
  std::atomic<uint64_t> idle_closes{0};
};

}  // namespace kv::server::resp

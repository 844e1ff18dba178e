#pragma once
// Settings of the Redis-protocol (RESP2/RESP3) front end of a node. docs/resp.md is the
// user-facing reference; kvd translates its --resp-* flags into these.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/node/limits.h"
#include "server/node/node.h"
#include "server/resp/parser_limits.h"

namespace kv::server::resp {

// The parser limits that fit a node's request limits: bulks up to max_value_bytes + 64 KiB,
// commands up to the larger of 64 MiB and one such bulk plus 1 MiB.
inline ParserLimits ParserLimitsFor(const Limits& limits) {
  ParserLimits p;
  p.max_bulk_bytes = static_cast<size_t>(limits.max_value_bytes) + 64 * 1024;
  p.max_command_bytes = std::max<size_t>(size_t{64} << 20, p.max_bulk_bytes + (1 << 20));
  return p;
}

// Checks a caller's credentials where the call arrives and fills the call's CallContext with
// them: `authorization` is the value as an HTTP header would carry it ("Bearer <token>"), or
// nullopt when the connection gave no token. A refusal (UNAUTHENTICATED, PERMISSION_DENIED,
// UNAVAILABLE) answers the command without calling the node. kvd passes its Gatekeeper's Admit.
using AdmitFn =
    std::function<absl::Status(std::optional<absl::string_view> authorization, CallContext* call)>;

struct RespServerOptions {
  // "HOST:PORT"; HOST is an IPv4/IPv6 address ("[::1]:6379") or a name; empty HOST = all IPv4
  // interfaces. Port 0 picks a free port (RespServer::port()).
  std::string listen = "127.0.0.1:6379";
  // I/O threads, each with its own event loop; connections are spread over them round-robin.
  int threads = 1;
  // Open connections at most; one beyond is answered "-ERR max number of clients reached" and
  // closed. 1..1000000.
  int max_connections = 10'000;
  // A connection that makes no progress in either direction for this long is closed, unless a
  // command of it is waiting at the node. Checked coarsely: between 1x and 1.25x this.
  // InfiniteDuration = never.
  absl::Duration idle_timeout = absl::Seconds(300);
  // Reply bytes a connection may hold for its client (written but not yet taken by the socket,
  // plus replies waiting behind an earlier unfinished one). A client that pipelines and does not
  // read is closed once it passes this; a single reply larger than this is replaced by an error.
  size_t max_output_bytes = size_t{64} << 20;
  // Commands of one connection waiting at the node at once; beyond it the connection stops
  // reading until some finish (backpressure, not an error).
  int max_commands_in_flight = 1024;
  // Deadline a command gets at the node (CallContext::deadline = now + this).
  absl::Duration command_timeout = absl::Seconds(10);
  // SCAN cursors remembered for the whole server (least recently used are forgotten; a forgotten
  // cursor is refused with an error asking to start again from 0).
  size_t max_scan_cursors = 16'384;
  // How long Stop() lets commands in flight finish before closing their connections.
  absl::Duration drain_timeout = absl::Seconds(2);
  // The node's request limits: keys and values over them get a clear error before the node is
  // asked, and the parser's limits follow them.
  Limits limits;
  ParserLimits parser = ParserLimitsFor(Limits());
  // Credentials check of every command's call (see AdmitFn); empty = none (the token, if any, is
  // not passed on).
  AdmitFn admit;
};

}  // namespace kv::server::resp

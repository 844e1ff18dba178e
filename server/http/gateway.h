#pragma once
// The node's HTTP routes (docs/http.md is the user-facing reference):
//   GET /healthz        200 "ok" while the process runs
//   GET /readyz         200 "ready", or 503 with Node::Ready's reason
//   GET /metrics        Prometheus text format
//   GET /v1/kv/{key}    Node::Get; the value as the body, freshness in X-KV-* headers
//   GET /v1/watch       Server-Sent Events of a watch (watch_events.h), when serving watches
// HEAD is accepted wherever GET is.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kvstore/v1/kv.pb.h"
#include "server/access/gatekeeper.h"
#include "server/http/http_server.h"
#include "server/metrics/metrics.h"
#include "server/node/node.h"

namespace kv::server {

struct GatewayOptions {
  // Deadline the node gets for one HTTP read (CallContext::deadline = now + this); a read that
  // takes longer answers 504.
  absl::Duration read_timeout = absl::Seconds(10);
  // Values at least this large are held once while answers send them: concurrent reads of the
  // same (key, version) share one copy (shared_body_pool.h). 0 = never share.
  size_t share_values_from_bytes = 64 * 1024;
};

// Registers the routes above on `server` (before server->Start()). `node` and `metrics` must
// outlive the server and every read still in flight at the node; `metrics` may be null (then
// /metrics is not routed and nothing is recorded). `gate` (may be null: no checks) admits the
// caller of /v1/kv by its `Authorization: Bearer` header: 401 with `WWW-Authenticate: Bearer`
// when refused. /healthz, /readyz and /metrics need no token (probes and scrapers).
void RegisterGatewayRoutes(HttpServer* server, Node* node, Metrics* metrics,
                           GatewayOptions options = {}, Gatekeeper* gate = nullptr);

// The pieces of the /v1/kv handler, exposed for tests and for other HTTP front ends.

// Admits the caller of an HTTP request by its `Authorization: Bearer` header (`gate` null: no
// checks). A refusal is returned; when it is UNAUTHENTICATED, `response` gets the
// `WWW-Authenticate: Bearer` challenge.
absl::Status AdmitHttpCaller(const HttpRequest& request, Gatekeeper* gate, CallContext* call,
                             HttpResponse* response);

// Fills `options` from a query string ("consistency=strong&max_staleness=500ms&min_version=7&
// allow_stale=true"). Unknown or repeated parameters and bad values are InvalidArgument with a
// message naming the parameter.
absl::Status ParseReadOptions(absl::string_view query, kvstore::v1::ReadOptions* options);

// The HTTP status for a node's status code: OK 200, INVALID_ARGUMENT/OUT_OF_RANGE 400,
// UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS/ABORTED 409,
// FAILED_PRECONDITION 412, RESOURCE_EXHAUSTED 429, UNIMPLEMENTED 501, UNAVAILABLE 503,
// DEADLINE_EXCEEDED 504, anything else 500.
int HttpStatusFromCode(absl::StatusCode code);

// 12345 -> "0.012345" (seconds with six decimals; negative values print as 0).
std::string FormatStalenessSeconds(int64_t micros);

// "central", "edge-store", "edge-cache", "upstream"; "" when unspecified.
absl::string_view SourceName(kvstore::v1::Source source);

}  // namespace kv::server

#pragma once
// GET /v1/watch?prefix=P[&key=K...][&from_version=N][&progress_ms=M] as Server-Sent Events
// (docs/http.md, "Watch"): one WatchSink of the node's WatchHub per request, writing each
// message as SSE events on a streamed answer (`curl -N` shows them as they arrive).
//
//   event: put            one per changed key; data is a JSON object (key, value or
//   event: delete         value_base64, version, ...); the last event of a message carries
//   id: <applied_version> the id to resume from (Last-Event-ID: N continues with N + 1)
//   event: progress       while nothing changes: {"applied_version":N,"staleness_ms":S,...}
//   event: error          the end of the watch: {"code":"OUT_OF_RANGE","message":...,
//                         "oldest_version":N} or {"code":"RESOURCE_EXHAUSTED",...,
//                         "resume_version":N}; then the connection closes
//
// A request that is refused before it starts (bad query, token, scope, watcher limit, a start
// older than the node keeps) gets an ordinary HTTP error answer with the same message.
//
// Threading: the handler runs on an HTTP thread; each stream's sink is driven by the hub's
// thread and its connection's thread. The hub and `access` outlive the server.

#include "server/access/authorized_node.h"
#include "server/access/gatekeeper.h"
#include "server/http/http_server.h"
#include "server/watch/watch_hub.h"

namespace kv::server {

void RegisterWatchRoute(HttpServer* server, WatchHub* hub, AuthorizedNode* access,
                        Gatekeeper* gate);

// The SSE text of one WatchResponse (for tests).
std::string FormatWatchEvents(const kvstore::v1::WatchResponse& response);

}  // namespace kv::server

#pragma once
// Internal to server/http: the accept loop of an HttpServer. Runs on the first I/O loop only.
//
// Each accepted socket is registered as a connection on the next loop (round-robin). When
// max_connections are open, the socket is answered "503 Service Unavailable" with
// Connection: close and closed at once (HttpConnection::Refuse). When accept itself fails
// (EMFILE/ENFILE: out of descriptors, ENOBUFS/ENOMEM, ...), the loop logs at most once every
// 10 s, waits 100 ms and accepts again: it stops only when the acceptor is closed.

#include "server/http/http_connection.h"

namespace kv::server {

// Starts (or continues) accepting on shared->acceptor. Stop() closes the acceptor, which ends
// the loop; Stop joins the I/O threads before `shared` goes away.
void AcceptConnections(HttpServer::Shared* shared);

}  // namespace kv::server

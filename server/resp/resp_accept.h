#pragma once
// Internal to server/resp: the accept loop of a RespServer. Runs on the first I/O loop only.
//
// Each accepted socket becomes a Session on the next loop (round-robin). When max_connections
// are open, the socket is answered "-ERR max number of clients reached" and closed at once
// (Session::Refuse). When accept itself fails (EMFILE/ENFILE, ENOBUFS, ...), the loop logs at
// most once every 10 s, waits 100 ms and accepts again: it stops only when the acceptor closes.

#include "server/resp/session.h"

namespace kv::server::resp {

// Starts (or continues) accepting on shared->acceptor.
void AcceptSessions(RespShared* shared);

}  // namespace kv::server::resp

#pragma once
// The history id: which run of writes a store's data belongs to.
//
// A version number alone does not name a write: a central node restored from a backup at
// version V commits new writes as V+1, V+2, ..., numbers that edges which had followed the old
// central node already hold for other writes. So every full node's store (and a cache edge's)
// carries a history id next to its cluster id: a central node creates a random one when its
// store is created and `kvd restore` gives the restored store a new one; downstreams copy their
// upstream's with a snapshot (or a start at the head). The cluster id says "same cluster", the
// history id says "same sequence of writes". A downstream whose history differs from its
// upstream's, or whose version is ahead of its head, is RESET (replication/publisher.cc) and
// takes a snapshot or drops its cache.
//
// Threading: a free function, callable from any thread.

#include <string>

namespace kv::server {

// 128 random bits as 32 hex digits.
std::string NewHistoryId();

}  // namespace kv::server

#pragma once
// Where an edge answers a read: the one rule every reader that holds a replica applies, an edge
// node (server/edge/edge_node.h) and a LocalReplica inside an application
// (client/include/kv/local_replica.h) alike (docs/design.md, "The read path at an edge").
//
// Pure function; thread-safe.

#include <cstdint>

namespace kv::server {

enum class ReadRoute {
  // Answer from the local copy (which may read a cold key through).
  kLocal,
  // A strong read: the central node answers, through the upstream.
  kStrong,
  // The local copy is staler than the bound (or suspect): the upstream answers; when it is
  // unreachable, the local copy labelled stale if the caller allows it.
  kStale,
  // The local copy has not applied min_version: wait for the stream, then the upstream.
  kBehind,
};

struct ReadRouteFacts {
  bool strong = false;
  // The caller's bound, already defaulted to the node's.
  int64_t bound_micros = 0;
  uint64_t min_version = 0;
  // The replica's state when the read arrived.
  int64_t staleness_micros = 0;
  uint64_t applied_version = 0;
  // The local copy must not be answered from (a checksum mismatch, no data yet).
  bool local_suspect = false;
};

inline ReadRoute RouteRead(const ReadRouteFacts& f) {
  if (f.strong) return ReadRoute::kStrong;
  if (f.staleness_micros > f.bound_micros || f.local_suspect) return ReadRoute::kStale;
  if (f.min_version > f.applied_version) return ReadRoute::kBehind;
  return ReadRoute::kLocal;
}

}  // namespace kv::server

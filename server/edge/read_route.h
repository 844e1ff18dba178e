#pragma once
// Where an edge answers a read: the one rule every reader that holds a replica applies, an edge
// node (server/edge/edge_node.h) and a LocalReplica inside an application
// (client/include/kv/local_replica.h) alike (docs/design.md, "The read path at an edge").
//
// Pure function; thread-safe.

#include <cstdint>

#include "absl/status/status.h"

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

// Whether a failed upstream call means "could not reach it" rather than its own answer.
inline bool UpstreamUnreachable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded ||
         status.code() == absl::StatusCode::kCancelled;
}

// Whether a read sent upstream for staleness (kStale) whose upstream call failed with `upstream`
// is answered from the local copy, labelled stale: only when the upstream was unreachable, the
// caller asked for it (allow_stale), and the copy holds min_version and is not suspect.
inline bool FallBackToStale(ReadRoute route, const absl::Status& upstream, bool allow_stale,
                            const ReadRouteFacts& f) {
  return route == ReadRoute::kStale && allow_stale && UpstreamUnreachable(upstream) &&
         f.applied_version >= f.min_version && !f.local_suspect;
}

}  // namespace kv::server

#pragma once
// How an edge labels an answer it relayed from its upstream.

#include "kvstore/v1/kv.pb.h"

namespace kv::server {

// To this edge's caller, an answer from an edge store or cache upstream is "upstream"; the
// central node's own answers keep their label.
inline kvstore::v1::Source Relabel(kvstore::v1::Source source) {
  return source == kvstore::v1::SOURCE_EDGE_STORE || source == kvstore::v1::SOURCE_EDGE_CACHE
             ? kvstore::v1::SOURCE_UPSTREAM
             : source;
}

}  // namespace kv::server

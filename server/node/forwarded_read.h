#pragma once
// A read sent up the chain carries the staleness bound it was routed by (docs/design.md, "The
// read path at an edge"). A request that names none would otherwise be answered by the
// upstream's own default, which may be looser (a standby central node's is 5 s): a reader
// behind a 1 s edge would get an answer the edge itself was too stale to give.
//
// Header only; thread-compatible.

#include <cstdint>
#include <memory>

#include "kvstore/v1/kv.pb.h"

namespace kv::server {

// The request to forward: `request` itself when it names a bound or is strong, else a copy in
// `*pinned` naming `bound_micros`. The result lives as long as `request` and `*pinned` do.
template <typename Request>
const Request* WithBound(const Request& request, int64_t bound_micros,
                         std::unique_ptr<Request>* pinned) {
  const kvstore::v1::ReadOptions& options = request.options();
  if (options.max_staleness_micros() > 0 ||
      options.consistency() == kvstore::v1::CONSISTENCY_STRONG) {
    return &request;
  }
  *pinned = std::make_unique<Request>(request);
  (*pinned)->mutable_options()->set_max_staleness_micros(bound_micros);
  return pinned->get();
}

}  // namespace kv::server

#pragma once
// An edge never begins another cluster's history on its own. Its data names the cluster it came
// from (the cluster id in its store); when its upstream serves another cluster (the RESET, the
// snapshot and the stream start say which), the usual way to begin again (a snapshot that wipes
// a full edge, a start at the head that drops a cache edge's keys) would replace that data with
// another cluster's. That happens only when the operator says so (`kvd edge
// --allow-cluster-change`); otherwise the edge keeps its data, stays not ready and says why
// (docs/faults.md, "Mistakes refused"). A node that holds nothing yet (no cluster id) adopts its
// upstream's cluster as before.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kv::replication {

// OK when data of cluster `held` may be replaced by the history of cluster `offered` from
// `upstream` (an address or node id, for the message): either id is empty (unknown), they are
// equal, or `allowed` (then it logs the change). Otherwise FAILED_PRECONDITION naming both
// cluster ids, the upstream and the flag.
absl::Status CheckClusterChange(absl::string_view held, absl::string_view offered,
                                absl::string_view upstream, bool allowed);

}  // namespace kv::replication

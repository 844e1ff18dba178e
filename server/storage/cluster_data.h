#pragma once
// Reports the cluster data (reserved keys) a full node's store holds, at open and after a
// snapshot: a put for each reserved key present, and a delete (at the head version) for the key
// set when it is absent, so an observer never keeps a key set the store no longer has.

#include <cstdint>

#include "absl/status/status.h"
#include "server/node/cluster_data.h"
#include "server/storage/versioned_store.h"

namespace kv::server {

// Reserved keys never expire (the Admin API writes them without one).
absl::Status ReportClusterData(const VersionedStore& store, const ClusterDataObserver& observer,
                               bool restart);

}  // namespace kv::server

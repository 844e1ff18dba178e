#pragma once
// Cluster data is kept in the reserved key namespace (common/reserved_keys.h): the token key
// set today. Every node role reports each change of a reserved key it holds or applies to a
// ClusterDataObserver (kvd hands them to the Gatekeeper).

#include <functional>

#include "kvstore/v1/replication.pb.h"

namespace kv::server {

// Called with a change of a reserved key (a put with its value and version, or a delete).
// `restart` is true when the change comes from a snapshot or a fetch after the node began a
// history again: then it replaces what the observer knew even if its version is lower. Must not
// block; may run on the node's commit, stream or gRPC threads.
using ClusterDataObserver = std::function<void(const kvstore::v1::Change& change, bool restart)>;

}  // namespace kv::server

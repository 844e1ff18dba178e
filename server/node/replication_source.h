#pragma once
// What the Replication service needs from a node that can be an upstream (the central node or a
// full edge): the store it snapshots, the publisher it streams from, and whether it is complete
// enough to serve downstreams right now. A cache edge is not one: it has no ReplicationSource.

#include "absl/status/status.h"

namespace kv::replication {
class Publisher;
}

namespace kv::server {

class VersionedStore;

class ReplicationSource {
 public:
  virtual ~ReplicationSource() = default;

  // Both live as long as the source; safe to use from any thread.
  virtual VersionedStore* store() = 0;
  virtual replication::Publisher* publisher() = 0;
  // OK when downstreams may subscribe and take snapshots (a full edge in the middle of its own
  // bootstrap may not). Called from gRPC threads.
  virtual absl::Status CanServeDownstreams() const = 0;
};

}  // namespace kv::server

#pragma once
// The Admin API's way to replace the cluster's token key set. Only the central node implements
// it (it commits the set like a write, in the reserved namespace, so it reaches every node on
// the replication stream); an edge has none and the Admin service answers FAILED_PRECONDITION.
//
// Threading: called from gRPC threads; `done` runs once, possibly on the commit thread.

#include "kvstore/v1/admin.pb.h"
#include "server/node/node.h"

namespace kv::server {

class KeySetAdmin {
 public:
  virtual ~KeySetAdmin() = default;
  // Validates `request.jwks` (a JWKS document) and commits it; answers with its version.
  virtual void SetKeySet(const kvstore::v1::SetKeySetRequest& request,
                         kvstore::v1::SetKeySetResponse* response, const CallContext& call,
                         Done done) = 0;
};

}  // namespace kv::server

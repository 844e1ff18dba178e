#pragma once
// The Admin API's online backup (Admin.Backup, docs/operations.md "Backup"). Only the central
// node implements it (edges hold copies that are rebuilt from their upstream; there is nothing
// of theirs to back up); elsewhere the Admin service answers FAILED_PRECONDITION.
//
// Threading: called from gRPC threads; `done` runs once, on the backup's own thread (or on the
// caller's when the request is refused at once).

#include "kvstore/v1/admin.pb.h"
#include "server/node/node.h"

namespace kv::server {

class BackupAdmin {
 public:
  virtual ~BackupAdmin() = default;
  // Backs the store up into `request.dest` while writes continue; answers with the version the
  // backup holds. FAILED_PRECONDITION while another backup runs.
  virtual void Backup(const kvstore::v1::BackupRequest& request,
                      kvstore::v1::BackupResponse* response, Done done) = 0;
  // Shutdown: a running backup stops (its caller gets CANCELLED, its files are removed) and new
  // ones are refused, so the server's drain does not wait for a copy of the whole store.
  virtual void Cancel() = 0;
};

}  // namespace kv::server

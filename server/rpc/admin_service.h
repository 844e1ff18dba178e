#pragma once
// gRPC Admin service: Status, filled by the node role plus the server's own facts.

#include <grpcpp/grpcpp.h>

#include <string>

#include "kvstore/v1/admin.grpc.pb.h"
#include "server/access/gatekeeper.h"
#include "server/node/backup_admin.h"
#include "server/node/key_set_admin.h"
#include "server/node/node.h"
#include "server/rpc/call_tracker.h"

namespace kv::server {

class AdminService final : public kvstore::v1::Admin::CallbackService {
 public:
  // `key_sets` is the central node's (null elsewhere: SetKeySet is refused there). `gate` and
  // `tracker` may be null. All must outlive the service.
  AdminService(Node* node, KeySetAdmin* key_sets, Gatekeeper* gate, CallTracker* tracker)
      : node_(node), key_sets_(key_sets), gate_(gate), tracker_(tracker) {}
  // The central node's online backups (null elsewhere: Backup is refused there). Set before
  // serving; must outlive the service.
  void SetBackups(BackupAdmin* backups) { backups_ = backups; }
  // Addresses the server actually listens on, reported by Status.
  void SetListenAddresses(std::string grpc_address, std::string http_address) {
    listen_ = std::move(grpc_address);
    http_listen_ = std::move(http_address);
  }

  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const kvstore::v1::StatusRequest* request,
                                   kvstore::v1::StatusResponse* response) override;
  grpc::ServerUnaryReactor* SetKeySet(grpc::CallbackServerContext* context,
                                      const kvstore::v1::SetKeySetRequest* request,
                                      kvstore::v1::SetKeySetResponse* response) override;
  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* context,
                                   const kvstore::v1::BackupRequest* request,
                                   kvstore::v1::BackupResponse* response) override;

 private:
  Node* const node_;
  KeySetAdmin* const key_sets_;
  BackupAdmin* backups_ = nullptr;
  Gatekeeper* const gate_;
  CallTracker* const tracker_;
  std::string listen_;
  std::string http_listen_;
};

}  // namespace kv::server

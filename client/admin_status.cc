#include "client/admin_status.h"

#include "client/client_impl.h"

namespace kv::client {

absl::StatusOr<kvstore::v1::StatusResponse> FetchAdminStatus(Client& client,
                                                             absl::string_view endpoint,
                                                             absl::Duration timeout) {
  auto* impl = dynamic_cast<ClientImpl*>(&client);
  if (impl == nullptr) {
    return absl::UnimplementedError("FetchAdminStatus: the client was not made by Client::Create");
  }
  return impl->StatusProto(endpoint, timeout);
}

absl::StatusOr<kvstore::v1::SetKeySetResponse> SetClusterKeySet(Client& client,
                                                                const std::string& jwks,
                                                                absl::Duration timeout) {
  auto* impl = dynamic_cast<ClientImpl*>(&client);
  if (impl == nullptr) {
    return absl::UnimplementedError("SetClusterKeySet: the client was not made by Client::Create");
  }
  return impl->SetKeySet(jwks, timeout);
}

absl::StatusOr<kvstore::v1::BackupResponse> TakeBackup(Client& client, const std::string& dest,
                                                       absl::Duration timeout) {
  auto* impl = dynamic_cast<ClientImpl*>(&client);
  if (impl == nullptr) {
    return absl::UnimplementedError("TakeBackup: the client was not made by Client::Create");
  }
  return impl->Backup(dest, timeout);
}

}  // namespace kv::client

#pragma once
// kvctl's way to the Admin service: the full Admin.Status of a node, and SetKeySet. The public
// Client::Status() returns the NodeStatus digest; `kvctl status` prints every field of the proto,
// and generated types stay out of kv/client.h, so this internal header gives it the proto. Not part
// of the public API.

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kv/client.h"
#include "kvstore/v1/admin.pb.h"

namespace kv::client {

// Admin.Status of `endpoint` (empty = the write endpoint), retried like Client::Status().
// `client` must come from Client::Create(); any other implementation gets UNIMPLEMENTED.
// Thread-safe like the Client.
absl::StatusOr<kvstore::v1::StatusResponse> FetchAdminStatus(
    Client& client, absl::string_view endpoint = "", absl::Duration timeout = absl::ZeroDuration());

// Admin.SetKeySet at the client's write endpoint (the central node): replaces the cluster's key
// set with `jwks`; needs a token with the admin scope. Same conditions as FetchAdminStatus.
absl::StatusOr<kvstore::v1::SetKeySetResponse> SetClusterKeySet(
    Client& client, const std::string& jwks, absl::Duration timeout = absl::ZeroDuration());

// Admin.Backup at the client's write endpoint (the central node): an online backup into `dest`,
// a directory on the central node's machine; needs a token with the admin scope. One attempt
// (a retry would find `dest` taken), waiting up to `timeout` for the copy. Same conditions as
// FetchAdminStatus.
absl::StatusOr<kvstore::v1::BackupResponse> TakeBackup(Client& client, const std::string& dest,
                                                       absl::Duration timeout);

}  // namespace kv::client

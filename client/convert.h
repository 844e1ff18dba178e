#pragma once
// Translation between the public structs of kv/client.h and the kvstore.v1 messages.
// Stateless functions.

#include <cstdint>

#include "common/tls/client_channel.h"
#include "kv/client.h"
#include "kvstore/v1/admin.pb.h"
#include "kvstore/v1/kv.pb.h"

namespace kv::client {

Source FromProto(kvstore::v1::Source source);

// The files of the public TLS options, for tls::ClientChannelSecurity::Make.
tls::ClientTlsFiles ToTlsFiles(const ClientTlsOptions& tls);
Entry FromProto(const kvstore::v1::Entry& entry);
// `endpoint` is the address that answered.
ReadInfo FromProto(const kvstore::v1::ReadInfo& info, const std::string& endpoint);

// The digest of a node's Admin.Status; `endpoint` is the address that answered.
NodeStatus FromProto(const kvstore::v1::StatusResponse& status, const std::string& endpoint);

// The wire read options; `min_version` already includes the session.
void ToProto(const ReadOptions& options, uint64_t min_version, kvstore::v1::ReadOptions* out);

// Validates what the client can check without a round trip (ttl form, ttl xor expiration) and
// fills the request.
absl::Status ToProto(absl::string_view key, absl::string_view value, const PutOptions& options,
                     kvstore::v1::PutRequest* out);
// As above for each put; refuses a put's if_version (a commit states its conditions as checks).
absl::Status ToProto(const std::vector<CommitCheck>& checks,
                     const std::vector<CommitMutation>& mutations, kvstore::v1::CommitRequest* out);

}  // namespace kv::client

#pragma once
// The reserved key namespace: cluster data that travels with the data (the replication stream
// carries it to every node) but that clients cannot read or write through the KV API. Only the
// Admin API changes it, and only a caller with the `admin` scope reads it (docs/security.md).

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace kv {

inline constexpr absl::string_view kReservedKeyPrefix = "__kv/";
// The cluster's token key set, a JWKS document (RFC 7517).
inline constexpr absl::string_view kKeySetKey = "__kv/auth/jwks";

inline bool IsReservedKey(absl::string_view key) {
  return absl::StartsWith(key, kReservedKeyPrefix);
}

}  // namespace kv

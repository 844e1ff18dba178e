#pragma once
// Reads against a VersionedStore shared by every full node (central node and full edges).

#include <cstdint>

#include "absl/status/statusor.h"
#include "kvstore/v1/kv.pb.h"
#include "server/node/limits.h"
#include "server/storage/versioned_store.h"

namespace kv::server {

enum class LocalRead {
  kFound,
  kAbsent,
  // The key exists at a version whose value this node has not fetched yet (an invalidation).
  kValueMissing,
};

// Reads `key` into `entry` (filled when found, and with the version when the value is missing).
// Expired keys are absent. `at` (if not null) is the state to read, shared by the keys of one
// BatchGet so that it never shows part of a commit.
absl::StatusOr<LocalRead> ReadLocal(const VersionedStore& store, const std::string& key,
                                    int64_t now_unix, kvstore::v1::Entry* entry,
                                    const ReadPoint* at = nullptr);

// Reads every key of one BatchGet at `at` (one RocksDB MultiGet) into `response`: a result per
// key, in order, found and filled as ReadLocal fills an entry (source left to the caller).
// Returns true when some key's value is missing (its result is then not found).
absl::StatusOr<bool> BatchReadLocal(const VersionedStore& store,
                                    const google::protobuf::RepeatedPtrField<std::string>& keys,
                                    int64_t now_unix, const ReadPoint& at,
                                    kvstore::v1::BatchGetResponse* response);

// One List page from the local store: entries and next_cursor. Returns how many listed keys
// have a value this node has not fetched yet (only counted when values were asked for).
absl::StatusOr<size_t> ListLocal(const VersionedStore& store, const Limits& limits,
                                 const kvstore::v1::ListRequest& request, int64_t now_unix,
                                 kvstore::v1::ListResponse* response);

}  // namespace kv::server

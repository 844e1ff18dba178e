#pragma once
// A full edge's reads through its HotReadCache: the store reads of server/storage/store_reads.h
// with hits answered from memory and what misses read offered to the cache under its ticket
// rule (server/edge/hot_read_cache.h). Any thread.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "kvstore/v1/kv.pb.h"
#include "server/edge/hot_read_cache.h"
#include "server/storage/store_reads.h"
#include "server/storage/versioned_store.h"

namespace kv::server {

// One key, as server::ReadLocal reads it; `*as_of` is set to a version the answer reflects at
// least (read before the answer). A value still to be fetched is not cached.
absl::StatusOr<LocalRead> ReadHot(HotReadCache& cache, const VersionedStore& store,
                                  const std::string& key, int64_t now_unix,
                                  kvstore::v1::Entry* entry, uint64_t* as_of);

// Answers a whole BatchGet from the cache if every key hits and no hit is newer than the head
// version read before the lookups (then every hit is the key's record at that version, so the
// batch is one state: never part of a commit). Returns that version and fills `response` (a
// result per key, source left to the caller); nullopt (response untouched) otherwise.
std::optional<uint64_t> BatchGetHot(HotReadCache& cache, const VersionedStore& store,
                                    const google::protobuf::RepeatedPtrField<std::string>& keys,
                                    int64_t now_unix, kvstore::v1::BatchGetResponse* response);

// A BatchGet from the store, as server::BatchReadLocal at a read point taken here (returned in
// `*as_of`), offering each key's record to the cache.
absl::StatusOr<bool> BatchReadAndOffer(HotReadCache& cache, const VersionedStore& store,
                                       const google::protobuf::RepeatedPtrField<std::string>& keys,
                                       int64_t now_unix, kvstore::v1::BatchGetResponse* response,
                                       uint64_t* as_of);

}  // namespace kv::server

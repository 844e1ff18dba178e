#pragma once
// Status fields of a node's store (disk space, storage errors), shared by the central node and
// full edges. Safe from any thread (see VersionedStore).

#include "kvstore/v1/admin.pb.h"
#include "server/storage/versioned_store.h"

namespace kv::server {

// Sets disk_free_bytes, min_free_disk_bytes, disk_reserve_exceeded, disk_write_refusals,
// storage_writes_stopped and storage_error.
void FillStoreStatus(const VersionedStore& store, kvstore::v1::StatusResponse* status);
// The dataset checksums (part of FillStoreStatus; a full edge reports only these).
void FillChecksumStatus(const VersionedStore& store, kvstore::v1::StatusResponse* status);

}  // namespace kv::server

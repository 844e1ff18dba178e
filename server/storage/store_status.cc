#include "server/storage/store_status.h"

namespace kv::server {

void FillStoreStatus(const VersionedStore& store, kvstore::v1::StatusResponse* status) {
  const DiskState disk = store.disk_state();
  status->set_disk_free_bytes(disk.free_bytes);
  status->set_min_free_disk_bytes(disk.min_free_bytes);
  status->set_disk_reserve_exceeded(disk.exceeded);
  status->set_disk_write_refusals(disk.refusals);
  status->set_storage_writes_stopped(!store.StorageStopped().ok());
  status->set_storage_error(store.storage_error());
  FillChecksumStatus(store, status);
  status->set_history_id(store.history_id());
}

void FillChecksumStatus(const VersionedStore& store, kvstore::v1::StatusResponse* status) {
  const ChecksumState checksum = store.checksum_state();
  status->set_checksum_version(checksum.version);
  status->set_checksum(checksum.checksum);
  status->set_central_checksum_known(checksum.central_known);
  status->set_central_checksum(checksum.central);
}

}  // namespace kv::server

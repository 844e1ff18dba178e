#include "server/storage/cluster_data.h"

#include <vector>

#include "common/reserved_keys.h"

namespace kv::server {

absl::Status ReportClusterData(const VersionedStore& store, const ClusterDataObserver& observer,
                               bool restart) {
  if (!observer) return absl::OkStatus();
  std::vector<kvstore::v1::Entry> entries;
  bool more = false;
  // A handful of keys: one page holds them all.
  if (auto s = store.List(kReservedKeyPrefix, "", 1000, /*include_values=*/true, /*now_unix=*/0,
                          &entries, &more);
      !s.ok()) {
    return s;
  }
  bool key_set_seen = false;
  for (const kvstore::v1::Entry& e : entries) {
    kvstore::v1::Change c;
    c.set_kind(kvstore::v1::Change::KIND_PUT);
    c.set_key(e.key());
    c.set_value(e.value());
    c.set_version(e.version());
    key_set_seen |= e.key() == kKeySetKey;
    observer(c, restart);
  }
  if (!key_set_seen) {
    kvstore::v1::Change c;
    c.set_kind(kvstore::v1::Change::KIND_DELETE);
    c.set_key(std::string(kKeySetKey));
    c.set_version(store.head_version());
    observer(c, restart);
  }
  return absl::OkStatus();
}

}  // namespace kv::server

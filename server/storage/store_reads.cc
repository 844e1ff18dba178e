#include "server/storage/store_reads.h"

#include <vector>

namespace kv::server {
namespace {

// A present record's entry, all but the value (which may not have been fetched yet).
void FillEntryHead(const std::string& key, const RecordView& view, kvstore::v1::Entry* entry) {
  entry->set_key(key);
  entry->set_version(view.version);
  entry->set_expiration(view.expiration);
  entry->set_metadata(view.metadata.data(), view.metadata.size());
}

}  // namespace

absl::StatusOr<LocalRead> ReadLocal(const VersionedStore& store, const std::string& key,
                                    int64_t now_unix, kvstore::v1::Entry* entry,
                                    const ReadPoint* at) {
  PinnedRecord record;
  auto found = store.Get(key, &record, at);
  if (!found.ok()) return found.status();
  if (!*found || record.view.ExpiredAt(now_unix)) return LocalRead::kAbsent;
  FillEntryHead(key, record.view, entry);
  if (record.view.value_missing) return LocalRead::kValueMissing;
  entry->set_value(record.view.value.data(), record.view.value.size());
  return LocalRead::kFound;
}

absl::StatusOr<bool> BatchReadLocal(const VersionedStore& store,
                                    const google::protobuf::RepeatedPtrField<std::string>& keys,
                                    int64_t now_unix, const ReadPoint& at,
                                    kvstore::v1::BatchGetResponse* response) {
  PinnedRecords records;
  if (auto s = store.MultiGet(keys, at, &records); !s.ok()) return s;
  bool value_missing = false;
  for (int i = 0; i < keys.size(); ++i) {
    auto* result = response->add_results();
    const RecordView& view = records.views[i];
    if (!records.found[i] || view.ExpiredAt(now_unix)) continue;
    if (view.value_missing) {
      value_missing = true;
      continue;
    }
    result->set_found(true);
    auto* entry = result->mutable_entry();
    FillEntryHead(keys[i], view, entry);
    entry->set_value(view.value.data(), view.value.size());
  }
  return value_missing;
}

absl::StatusOr<size_t> ListLocal(const VersionedStore& store, const Limits& limits,
                                 const kvstore::v1::ListRequest& request, int64_t now_unix,
                                 kvstore::v1::ListResponse* response) {
  size_t limit = request.limit() == 0 ? limits.default_list_limit : request.limit();
  std::vector<kvstore::v1::Entry> entries;
  bool more = false;
  size_t missing = 0;
  if (auto s = store.List(request.prefix(), request.cursor(), limit, request.include_values(),
                          now_unix, &entries, &more, &missing);
      !s.ok()) {
    return s;
  }
  for (auto& e : entries) *response->add_entries() = std::move(e);
  if (more && response->entries_size() > 0) {
    response->set_next_cursor(response->entries(response->entries_size() - 1).key());
  }
  return request.include_values() ? missing : 0;
}

}  // namespace kv::server

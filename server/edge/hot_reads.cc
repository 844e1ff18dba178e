#include "server/edge/hot_reads.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "server/edge/cached_value_proto.h"

namespace kv::server {
absl::StatusOr<LocalRead> ReadHot(HotReadCache& cache, const VersionedStore& store,
                                  const std::string& key, int64_t now_unix,
                                  kvstore::v1::Entry* entry, uint64_t* as_of) {
  *as_of = store.head_version();  // before the lookup: a hit is the record at least as of it
  if (auto hit = cache.Lookup(key)) {
    // An entry the applier updated before the store's head moved is newer than that head: the
    // answer is as of its version, so a session that saw it (a "not found" included) never
    // reads the older record again, even if the store write then fails.
    *as_of = std::max(*as_of, hit->version);
    if (!LiveAt(*hit, now_unix)) return LocalRead::kAbsent;
    FillEntry(key, *hit, entry);
    return LocalRead::kFound;
  }
  // The ticket first, then the head, then the store.
  const HotReadCache::Ticket ticket = cache.NewTicket(key);
  *as_of = store.head_version();
  auto read = ReadLocal(store, key, now_unix, entry);
  if (!read.ok() || *read == LocalRead::kValueMissing) return read;
  cache.Offer(key, ticket, CachedValueOfEntry(*read == LocalRead::kFound, *entry, *as_of));
  return read;
}

std::optional<uint64_t> BatchGetHot(HotReadCache& cache, const VersionedStore& store,
                                    const google::protobuf::RepeatedPtrField<std::string>& keys,
                                    int64_t now_unix, kvstore::v1::BatchGetResponse* response) {
  const uint64_t as_of = store.head_version();
  // Reused by this thread's batches; emptied before returning.
  thread_local std::vector<absl::string_view> views;
  thread_local std::vector<std::shared_ptr<const cache::CachedValue>> hits;
  views.assign(keys.begin(), keys.end());
  if (!cache.LookupAllAsOf(views, as_of, &hits)) {
    // The store answers this batch. Each key is counted and recorded as a single read's would
    // be: a hit keeps its recency and frequency, a miss's access is what later admits it.
    for (absl::string_view key : views) cache.Lookup(key);
    return std::nullopt;
  }
  for (int i = 0; i < keys.size(); ++i)
    FillCached(keys[i], *hits[i], now_unix, response->add_results());
  hits.clear();
  return as_of;
}

absl::StatusOr<bool> BatchReadAndOffer(HotReadCache& cache, const VersionedStore& store,
                                       const google::protobuf::RepeatedPtrField<std::string>& keys,
                                       int64_t now_unix, kvstore::v1::BatchGetResponse* response,
                                       uint64_t* as_of) {
  std::vector<HotReadCache::Ticket> tickets;
  tickets.reserve(keys.size());
  for (const auto& key : keys) tickets.push_back(cache.NewTicket(key));
  // After the tickets: the read point's head is at least the version of any change their
  // generations had seen end.
  const ReadPoint point = store.NewReadPoint();
  *as_of = point.head;
  auto value_missing = BatchReadLocal(store, keys, now_unix, point, response);
  // With a value missing the batch goes upstream, and its absent results are not all absent.
  if (!value_missing.ok() || *value_missing) return value_missing;
  for (int i = 0; i < keys.size(); ++i) {
    const auto& result = response->results(i);
    cache.Offer(keys[i], tickets[i],
                CachedValueOfEntry(result.found(), result.entry(), point.head));
  }
  return false;
}

}  // namespace kv::server

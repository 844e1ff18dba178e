#include "server/edge/cached_value_proto.h"

namespace kv::server {

std::shared_ptr<const cache::CachedValue> CachedValueOfChange(const kvstore::v1::Change& c,
                                                              uint64_t version) {
  using kvstore::v1::Change;
  // Anything else (an invalidation, a kind this build does not know) is not taken as an absence.
  if (c.kind() != Change::KIND_PUT && c.kind() != Change::KIND_DELETE) return nullptr;
  cache::CachedValue v;
  v.version = version;
  if (c.kind() == Change::KIND_PUT) {
    v.found = true;
    v.value = c.value();
    v.metadata = c.metadata();
    v.expiration = c.expiration();
  }
  return cache::MakeCachedValue(std::move(v));
}

cache::CachedValue CachedValueOfEntry(bool found, const kvstore::v1::Entry& entry,
                                      uint64_t absent_as_of) {
  cache::CachedValue v;
  v.found = found;
  if (!found) {
    v.version = absent_as_of;
    return v;
  }
  v.value = entry.value();
  v.metadata = entry.metadata();
  v.version = entry.version();
  v.expiration = entry.expiration();
  return v;
}

void FillCacheCounters(const cache::HotKeyCache::Stats& s, kvstore::v1::CacheStatus* status) {
  status->set_hits(s.hits);
  status->set_misses(s.misses);
  status->set_hit_ratio(s.hits + s.misses == 0 ? 0.0
                                               : static_cast<double>(s.hits) / (s.hits + s.misses));
  status->set_promotions(s.window_admissions + s.protected_promotions);
  status->set_evictions(s.evictions);
  status->set_rejections(s.rejections);
  status->set_bytes_used(s.bytes_used);
  status->set_bytes_limit(s.bytes_limit);
  status->set_entries(s.entries);
  status->set_negative_entries(s.negative_entries);
}

}  // namespace kv::server

#pragma once
// The hot-key cache's values and counters in kvstore.v1 messages, the same for both edges that
// hold a HotKeyCache (a cache edge's CacheStore, a full edge's HotReadCache).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "kvstore/v1/admin.pb.h"
#include "kvstore/v1/replication.pb.h"
#include "server/cache/cached_value.h"
#include "server/cache/hot_key_cache.h"
#include "server/node/shared_read.h"

namespace kv::server {

// Whether a cached value answers "found" at `now_unix`: a cached "not found" and an expired
// value are absent.
inline bool LiveAt(const cache::CachedValue& v, int64_t now_unix) {
  return v.found && !(v.expiration != 0 && v.expiration <= now_unix);
}

// A found cached value as `key`'s Entry.
inline void FillEntry(absl::string_view key, const cache::CachedValue& v, kvstore::v1::Entry* e) {
  e->set_key(key.data(), key.size());
  e->set_value(v.value);
  e->set_metadata(v.metadata);
  e->set_version(v.version);
  e->set_expiration(v.expiration);
}

// Fills a Get/Fetch-shaped response (or a BatchGet result) from a cached value; an expired
// value is absent.
template <typename Target>
void FillCached(const std::string& key, const cache::CachedValue& v, int64_t now_unix,
                Target* out) {
  const bool live = LiveAt(v, now_unix);
  out->set_found(live);
  if (!live) {
    out->clear_entry();
    return;
  }
  FillEntry(key, v, out->mutable_entry());
}

// The other way: what a read answered for a key, as the cache holds it. A found `entry` gives
// its record; an absence is a "not found" as of `absent_as_of` (the version the read was
// answered as of, at least that of whatever removed the key).
cache::CachedValue CachedValueOfEntry(bool found, const kvstore::v1::Entry& entry,
                                      uint64_t absent_as_of);

// The shared answer for a cached value (FillCached's, without the copies): the value's bytes
// stay valid while `out` holds it.
inline void FillShared(std::shared_ptr<const cache::CachedValue> v, int64_t now_unix,
                       SharedValue* out) {
  out->found = LiveAt(*v, now_unix);
  out->value = out->found ? absl::string_view(v->value) : absl::string_view();
  out->holder = std::move(v);
}

// What a key holds after the stream's key change `c` (a PUT, DELETE or INVALIDATE, never a
// COMMIT; replication::ForEachKeyChange yields them) at `version`, as the store records it: a PUT
// its value, metadata and expiration, a DELETE a "not found" at that version. nullptr for an
// INVALIDATE (the value did not come with the stream) or any other kind: drop the entry.
std::shared_ptr<const cache::CachedValue> CachedValueOfChange(const kvstore::v1::Change& c,
                                                              uint64_t version);

// The rule that lets a batch of hits answer as one state: none of them newer than the state
// `as_of` they were read at. A newer one may be part of a commit whose other keys are cached
// older (a cache edge's fetch from an upstream ahead of it, a full edge's entry updated ahead of
// its head).
inline bool NoneNewerThan(absl::Span<const std::shared_ptr<const cache::CachedValue>> hits,
                          uint64_t as_of) {
  for (const auto& hit : hits) {
    if (hit->version > as_of) return false;
  }
  return true;
}

// A shared batch's values from its hits, in order; `hits` is emptied (its memory kept).
inline void FillSharedBatch(std::vector<std::shared_ptr<const cache::CachedValue>>* hits,
                            int64_t now_unix, SharedBatchRead* out) {
  out->values.resize(hits->size());
  for (size_t i = 0; i < hits->size(); ++i) {
    FillShared(std::move((*hits)[i]), now_unix, &out->values[i]);
  }
  hits->clear();
}

// The cache's own counters into Status (fetch counters are the cache edge's to add).
void FillCacheCounters(const cache::HotKeyCache::Stats& s, kvstore::v1::CacheStatus* status);

}  // namespace kv::server

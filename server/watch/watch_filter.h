#pragma once
// Which changes one watcher sees, and how a change becomes the events of a WatchResponse.
//
// A watch names a prefix or a list of keys. A change of kind PUT or DELETE matches on its key; a
// KIND_INVALIDATE (a value too large to push) is a put whose value is omitted; a KIND_COMMIT is
// the set of its matching parts, all at the commit's version, added as a whole or not at all.
// Values larger than `max_value_bytes` are omitted the same way, so every node sends the same
// events whatever it holds (docs/client.md, "Watch").
//
// Immutable after construction; safe to share between threads.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kvstore/v1/kv.pb.h"
#include "kvstore/v1/replication.pb.h"

namespace kv::server {

// Most keys one watch may list.
inline constexpr int kMaxWatchKeys = 100;

class WatchFilter {
 public:
  // Checks the request's shape (prefix or keys, not both; 1..kMaxWatchKeys keys; key sizes).
  // `hide_reserved`: the caller may not read the reserved namespace, so its keys never match.
  static absl::StatusOr<WatchFilter> Make(const kvstore::v1::WatchRequest& request,
                                          size_t max_key_bytes, bool hide_reserved,
                                          uint64_t max_value_bytes);

  bool Matches(const std::string& key) const;

  // Equal for two filters exactly when they match the same changes and make the same events of
  // them: the hub gives the watchers of equal filters one shared message.
  const std::string& key() const { return key_; }

  // Adds the events of `change` that match (none, or every matching part of a commit) to `out`.
  // Returns the number of events added.
  int AddEvents(const kvstore::v1::Change& change, kvstore::v1::WatchResponse* out) const;

 private:
  WatchFilter() = default;
  void AddEvent(const kvstore::v1::Change& part, uint64_t version,
                kvstore::v1::WatchResponse* out) const;

  std::string prefix_;
  absl::flat_hash_set<std::string> keys_;  // empty: the prefix decides
  bool hide_reserved_ = false;
  uint64_t max_value_bytes_ = 0;
  std::string key_;
};

}  // namespace kv::server

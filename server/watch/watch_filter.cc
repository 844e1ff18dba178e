#include "server/watch/watch_filter.h"

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/reserved_keys.h"

namespace kv::server {

using kvstore::v1::Change;
using kvstore::v1::WatchEvent;

absl::StatusOr<WatchFilter> WatchFilter::Make(const kvstore::v1::WatchRequest& request,
                                              size_t max_key_bytes, bool hide_reserved,
                                              uint64_t max_value_bytes) {
  if (!request.keys().empty() && !request.prefix().empty()) {
    return absl::InvalidArgumentError("a watch names a prefix or keys, not both");
  }
  if (request.keys_size() > kMaxWatchKeys) {
    return absl::InvalidArgumentError(
        absl::StrCat("a watch lists at most ", kMaxWatchKeys, " keys; got ", request.keys_size()));
  }
  if (request.prefix().size() > max_key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("prefix is ", request.prefix().size(),
                                                   " bytes; keys are at most ", max_key_bytes));
  }
  if (request.progress_interval_millis() < 0) {
    return absl::InvalidArgumentError("progress_interval_millis must not be negative");
  }
  WatchFilter f;
  f.prefix_ = request.prefix();
  for (const std::string& key : request.keys()) {
    if (key.empty() || key.size() > max_key_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("a watched key must be 1..", max_key_bytes, " bytes"));
    }
    f.keys_.insert(key);
  }
  f.hide_reserved_ = hide_reserved;
  f.max_value_bytes_ = max_value_bytes;
  // hidden-reserved flag, value limit, then the sorted keys (each with its length) or the prefix.
  f.key_ = absl::StrCat(hide_reserved ? "r" : "-", max_value_bytes, ":");
  if (!f.keys_.empty()) {
    std::vector<absl::string_view> sorted(f.keys_.begin(), f.keys_.end());
    std::sort(sorted.begin(), sorted.end());
    for (absl::string_view key : sorted) absl::StrAppend(&f.key_, "k", key.size(), ":", key);
  } else {
    absl::StrAppend(&f.key_, "p", f.prefix_);
  }
  return f;
}

bool WatchFilter::Matches(const std::string& key) const {
  if (hide_reserved_ && IsReservedKey(key)) return false;
  if (!keys_.empty()) return keys_.contains(key);
  return absl::StartsWith(key, prefix_);
}

void WatchFilter::AddEvent(const Change& part, uint64_t version,
                           kvstore::v1::WatchResponse* out) const {
  WatchEvent* e = out->add_events();
  e->set_key(part.key());
  e->set_version(version);
  if (part.kind() == Change::KIND_DELETE) {
    e->set_type(WatchEvent::TYPE_DELETE);
    return;
  }
  e->set_type(WatchEvent::TYPE_PUT);
  e->set_metadata(part.metadata());
  e->set_expiration(part.expiration());
  if (part.kind() == Change::KIND_INVALIDATE) {
    e->set_value_omitted(true);
    e->set_value_size(part.value_size());
    return;
  }
  e->set_value_size(part.value().size());
  if (part.value().size() > max_value_bytes_) {
    e->set_value_omitted(true);
  } else {
    e->set_value(part.value());
  }
}

int WatchFilter::AddEvents(const Change& change, kvstore::v1::WatchResponse* out) const {
  if (change.kind() != Change::KIND_COMMIT) {
    if (!Matches(change.key())) return 0;
    AddEvent(change, change.version(), out);
    return 1;
  }
  int added = 0;
  for (const Change& part : change.parts()) {
    if (!Matches(part.key())) continue;
    AddEvent(part, change.version(), out);
    ++added;
  }
  return added;
}

}  // namespace kv::server

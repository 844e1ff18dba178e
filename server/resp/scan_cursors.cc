#include "server/resp/scan_cursors.h"

#include <algorithm>
#include <utility>

namespace kv::server::resp {

ScanCursors::ScanCursors(size_t capacity)
    : capacity_(std::max<size_t>(capacity, 1)), random_(std::random_device{}()) {}

uint64_t ScanCursors::Save(Position position) {
  absl::MutexLock lock(&mu_);
  uint64_t cursor = 0;
  do {
    cursor = random_() >> 1;  // 63 bits: fits a signed 64-bit integer in any client
  } while (cursor == 0 || entries_.contains(cursor));
  while (entries_.size() >= capacity_) {
    entries_.erase(ages_.front());
    ages_.pop_front();
  }
  ages_.push_back(cursor);
  entries_.emplace(cursor, Entry{std::move(position), std::prev(ages_.end())});
  return cursor;
}

std::optional<ScanCursors::Position> ScanCursors::Find(uint64_t cursor) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(cursor);
  if (it == entries_.end()) return std::nullopt;
  ages_.splice(ages_.end(), ages_, it->second.age);
  return it->second.position;
}

size_t ScanCursors::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace kv::server::resp

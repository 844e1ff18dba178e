#include "server/http/pending_bodies.h"

namespace kv::server {

bool PendingBodies::TryAdd(size_t bytes) {
  size_t held = bytes_.load(std::memory_order_relaxed);
  do {
    if (bytes > kAlwaysAdmittedBytes && (held > limit_ || bytes > limit_ - held)) return false;
  } while (!bytes_.compare_exchange_weak(held, held + bytes, std::memory_order_relaxed));
  return true;
}

bool PendingBodies::TryHold(const void* shared, size_t bytes) {
  if (shared == nullptr) return TryAdd(bytes);
  absl::MutexLock lock(&mu_);
  auto it = holders_.find(shared);
  if (it != holders_.end()) {
    ++it->second;
    return true;
  }
  if (!TryAdd(bytes)) return false;
  holders_.emplace(shared, 1);
  return true;
}

void PendingBodies::Release(const void* shared, size_t bytes) {
  if (shared != nullptr) {
    absl::MutexLock lock(&mu_);
    auto it = holders_.find(shared);
    if (it == holders_.end() || --it->second > 0) return;
    holders_.erase(it);
  }
  bytes_.fetch_sub(bytes, std::memory_order_relaxed);
}

}  // namespace kv::server

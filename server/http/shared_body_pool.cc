#include "server/http/shared_body_pool.h"

namespace kv::server {

struct SharedBodyPool::State {
  using Key = std::pair<std::string, uint64_t>;

  absl::Mutex mu;
  absl::flat_hash_map<Key, std::weak_ptr<const std::string>> held ABSL_GUARDED_BY(mu);
  size_t bytes ABSL_GUARDED_BY(mu) = 0;
};

SharedBodyPool::SharedBodyPool() : state_(std::make_shared<State>()) {}

SharedBody SharedBodyPool::Intern(absl::string_view key, uint64_t version, std::string value) {
  State::Key map_key(std::string(key), version);
  std::unique_ptr<std::string> dropped;  // freed after the lock is released
  absl::MutexLock lock(&state_->mu);
  std::weak_ptr<const std::string>& slot = state_->held[map_key];
  if (SharedBody existing = slot.lock()) {
    dropped = std::make_unique<std::string>(std::move(value));
    return existing;
  }
  // The deleter forgets the entry unless a newer value took the slot meanwhile (the old one
  // expired before it was destroyed), then frees the value outside the lock.
  const size_t size = value.size();
  auto* raw = new std::string(std::move(value));
  SharedBody body(raw, [state = state_, map_key = std::move(map_key), size](const std::string* p) {
    {
      absl::MutexLock lock(&state->mu);
      state->bytes -= size;
      auto it = state->held.find(map_key);
      if (it != state->held.end() && it->second.expired()) {
        // Expired is true both for this value and for a successor that died too; erasing is
        // right in both cases (a successor's own deleter finds nothing left to erase).
        state->held.erase(it);
      }
    }
    delete p;
  });
  state_->bytes += size;
  slot = body;
  return body;
}

size_t SharedBodyPool::values() const {
  absl::MutexLock lock(&state_->mu);
  return state_->held.size();
}

size_t SharedBodyPool::bytes() const {
  absl::MutexLock lock(&state_->mu);
  return state_->bytes;
}

}  // namespace kv::server

#pragma once
// A plain LRU over integer key ids 0..n-1 holding `capacity` entries: the baseline policy.
// Arrays indexed by id instead of a hash map: the simulation measures hit ratios, not speed.

#include <cstdint>
#include <vector>

namespace kv::bench {

class LruSim {
 public:
  LruSim(uint32_t key_space, uint32_t capacity)
      : capacity_(capacity),
        prev_(key_space, kNil),
        next_(key_space, kNil),
        cached_(key_space, false) {}

  // One request: true on a hit. A miss inserts the key, evicting the least recent if full.
  bool Access(uint32_t id) {
    if (cached_[id]) {
      Unlink(id);
      PushFront(id);
      return true;
    }
    if (capacity_ == 0) return false;
    if (size_ == capacity_) {
      const uint32_t victim = tail_;
      Unlink(victim);
      cached_[victim] = false;
      --size_;
    }
    PushFront(id);
    cached_[id] = true;
    ++size_;
    return false;
  }

  uint32_t size() const { return size_; }

 private:
  static constexpr uint32_t kNil = UINT32_MAX;

  void Unlink(uint32_t id) {
    (prev_[id] != kNil ? next_[prev_[id]] : head_) = next_[id];
    (next_[id] != kNil ? prev_[next_[id]] : tail_) = prev_[id];
  }
  void PushFront(uint32_t id) {
    prev_[id] = kNil;
    next_[id] = head_;
    if (head_ != kNil) prev_[head_] = id;
    head_ = id;
    if (tail_ == kNil) tail_ = id;
  }

  const uint32_t capacity_;
  std::vector<uint32_t> prev_;
  std::vector<uint32_t> next_;
  std::vector<bool> cached_;
  uint32_t head_ = kNil;
  uint32_t tail_ = kNil;
  uint32_t size_ = 0;
};

}  // namespace kv::bench

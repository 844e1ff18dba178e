#pragma once
// The cache's per-key node (CacheNode) and the intrusive LRU lists that hold them. Intrusive links
// and the key stored in the node's own allocation keep an entry to one heap allocation (plus its
// value's) and make every move O(1).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include "absl/strings/string_view.h"
#include "server/cache/cached_value.h"

namespace kv::server::cache {

// Which W-TinyLFU region an entry is in.
enum class Segment : uint8_t { kNone, kWindow, kProbation, kProtected };

// Made by New: the key's bytes follow the node in the same allocation, so a lookup's key compare
// reads memory next to the node's instead of a separate buffer (one cache miss less per hit).
struct CacheNode {
  static std::unique_ptr<CacheNode> New(absl::string_view key) {
    void* memory = ::operator new(sizeof(CacheNode) + key.size());
    auto* e = new (memory) CacheNode();
    e->key_size = key.size();
    if (!key.empty()) std::memcpy(reinterpret_cast<char*>(e + 1), key.data(), key.size());
    return std::unique_ptr<CacheNode>(e);
  }
  // The allocation New made (unsized: its size is not sizeof(CacheNode)).
  static void operator delete(void* p) { ::operator delete(p); }

  absl::string_view key() const { return {reinterpret_cast<const char*>(this + 1), key_size}; }
  // The bytes New allocated for this node.
  size_t allocation_size() const { return sizeof(CacheNode) + key_size; }

  std::shared_ptr<const CachedValue> value;
  CacheNode* prev = nullptr;  // towards the most recently used end
  CacheNode* next = nullptr;  // towards the least recently used end
  uint64_t hash = 0;
  size_t charge = 0;  // heap bytes this entry holds (see WTinyLfu::ChargeOf)
  size_t key_size = 0;
  Segment segment = Segment::kNone;

 private:
  CacheNode() = default;
};

// A doubly-linked LRU list, front = most recently used. Tracks the bytes charged to it.
class CacheNodeList {
 public:
  CacheNodeList() = default;
  CacheNodeList(const CacheNodeList&) = delete;
  CacheNodeList& operator=(const CacheNodeList&) = delete;

  CacheNode* front() const { return head_; }
  CacheNode* back() const { return tail_; }
  size_t size() const { return size_; }
  size_t bytes() const { return bytes_; }

  void PushFront(CacheNode* e) {
    e->prev = nullptr;
    e->next = head_;
    if (head_ != nullptr) head_->prev = e;
    head_ = e;
    if (tail_ == nullptr) tail_ = e;
    ++size_;
    bytes_ += e->charge;
  }

  void Remove(CacheNode* e) {
    (e->prev != nullptr ? e->prev->next : head_) = e->next;
    (e->next != nullptr ? e->next->prev : tail_) = e->prev;
    e->prev = e->next = nullptr;
    --size_;
    bytes_ -= e->charge;
  }

  void MoveToFront(CacheNode* e) {
    if (head_ == e) return;
    Remove(e);
    PushFront(e);
  }

  // For an entry in this list whose charge changes in place.
  void Recharge(CacheNode* e, size_t new_charge) {
    bytes_ = bytes_ - e->charge + new_charge;
    e->charge = new_charge;
  }

 private:
  CacheNode* head_ = nullptr;
  CacheNode* tail_ = nullptr;
  size_t size_ = 0;
  size_t bytes_ = 0;
};

}  // namespace kv::server::cache

#pragma once
// Reuses objects per thread, so the per-command objects of the hot read path (request,
// response, context, reply) stop costing allocations once warm: protobuf messages and strings
// keep their capacity across Clear(). An object is taken from the calling thread's free list
// and returned to the free list of the thread that releases it (the node may complete a call on
// its own thread); each list keeps at most kMaxFree objects.
//
//   PoolPtr<GetCall> call = TakeFromPool<GetCall>();  // T needs Reset() and a default ctor
//
// Thread-safe: every list is thread_local.

#include <cstddef>
#include <memory>
#include <vector>

namespace kv::server::resp {

template <typename T>
struct ReturnToPool {
  void operator()(T* object) const;
};

template <typename T>
using PoolPtr = std::unique_ptr<T, ReturnToPool<T>>;

namespace pool_internal {

inline constexpr size_t kMaxFree = 256;

template <typename T>
struct FreeList {
  ~FreeList() {
    for (T* object : objects) delete object;
  }
  std::vector<T*> objects;
};

template <typename T>
FreeList<T>& ThisThreadsList() {
  thread_local FreeList<T> list;
  return list;
}

}  // namespace pool_internal

template <typename T>
PoolPtr<T> TakeFromPool() {
  auto& list = pool_internal::ThisThreadsList<T>().objects;
  if (list.empty()) return PoolPtr<T>(new T());
  T* object = list.back();
  list.pop_back();
  return PoolPtr<T>(object);
}

template <typename T>
void ReturnToPool<T>::operator()(T* object) const {
  object->Reset();
  auto& list = pool_internal::ThisThreadsList<T>().objects;
  if (list.size() < pool_internal::kMaxFree) {
    list.push_back(object);
  } else {
    delete object;
  }
}

}  // namespace kv::server::resp

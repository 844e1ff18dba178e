#pragma once
// Counts the bytes of answer bodies an HTTP server holds for connections that are still writing
// them, and refuses new ones above a budget, so clients that do not read cannot make the server
// hold unbounded memory (docs/http.md, "Limits").
//
// A body shared by several answers (HttpResponse::set_shared_body) is counted once while at
// least one answer holds it, and an answer whose shared body is already held is always admitted.
// Bodies of at most kAlwaysAdmittedBytes are always admitted too (error texts, probes, small
// values): with max_connections they add at most a bounded amount beyond the budget.
//
// Thread-safe. Owned bodies cost one atomic add; shared bodies take a mutex.

#include <atomic>
#include <cstddef>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace kv::server {

class PendingBodies {
 public:
  static constexpr size_t kAlwaysAdmittedBytes = 64 * 1024;

  // `limit` bytes in all; SIZE_MAX = no limit.
  explicit PendingBodies(size_t limit) : limit_(limit) {}
  PendingBodies(const PendingBodies&) = delete;
  PendingBodies& operator=(const PendingBodies&) = delete;

  // Holds one answer's body of `bytes`; `shared` identifies a shared body, null for a body the
  // answer owns. False, holding nothing, when the body would take the total above the limit.
  // Every true is paired with one Release with the same arguments.
  bool TryHold(const void* shared, size_t bytes);
  void Release(const void* shared, size_t bytes);

  // Bytes held now (shared bodies once).
  size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_; }

 private:
  // Adds `bytes` unless that passes the limit (small bodies always pass).
  bool TryAdd(size_t bytes);

  const size_t limit_;
  std::atomic<size_t> bytes_{0};
  absl::Mutex mu_;
  // Answers holding each shared body.
  absl::flat_hash_map<const void*, int> holders_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::server

#pragma once
// Holds large values once while answers are sending them. Every read of a key gets its own copy
// of the value from the node; when many clients read the same large value at once (a hot key, or
// slow clients that do not read), the gateway would otherwise hold one copy per connection
// until each answer is written. Intern() swaps a fresh copy for the copy already held for the
// same (key, version), so N answers in flight cost one value, not N.
//
// A version names one write, so (key, version) names one value: the pool never compares bytes.
// The pool keeps no value alive by itself (weak references only); a value is freed, and its
// entry forgotten, when the last answer holding it is done.
//
// Thread-safe. Values may outlive the pool.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace kv::server {

using SharedBody = std::shared_ptr<const std::string>;

class SharedBodyPool {
 public:
  SharedBodyPool();
  SharedBodyPool(const SharedBodyPool&) = delete;
  SharedBodyPool& operator=(const SharedBodyPool&) = delete;

  // The value held for (key, version) if any answer still holds it (`value` is then dropped),
  // else `value`, now held. Moves, never copies, `value`.
  SharedBody Intern(absl::string_view key, uint64_t version, std::string value);

  // Distinct values held now, and their bytes.
  size_t values() const;
  size_t bytes() const;

 private:
  struct State;  // shared with the values' deleters
  std::shared_ptr<State> state_;
};

}  // namespace kv::server

#pragma once
// SCAN cursors of a server. Redis clients treat a SCAN cursor as an integer (redis-py calls int()
// on it, go-redis keeps a uint64), while Node::List's cursor is the last key listed. This table
// maps a random 63-bit number to (prefix, List cursor), shared by every connection of the server
// so a scan may continue on another pooled connection. It holds at most `capacity` cursors and
// forgets the least recently used; a forgotten cursor is refused and the client starts again.
//
// Thread-safe.

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <random>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace kv::server::resp {

class ScanCursors {
 public:
  struct Position {
    std::string prefix;       // the MATCH prefix the scan was started with
    std::string list_cursor;  // ListResponse.next_cursor
  };

  explicit ScanCursors(size_t capacity);

  // Remembers `position` and returns its cursor number (never 0: 0 starts and ends a scan).
  uint64_t Save(Position position);
  // The position of `cursor` (now the most recently used); nullopt when unknown or forgotten. A
  // cursor may be used again (a client retrying a SCAN whose reply it lost).
  std::optional<Position> Find(uint64_t cursor);
  size_t size() const;

 private:
  struct Entry {
    Position position;
    std::list<uint64_t>::iterator age;
  };

  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::list<uint64_t> ages_ ABSL_GUARDED_BY(mu_);  // oldest first
};

}  // namespace kv::server::resp

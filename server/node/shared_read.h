#pragma once
// Reads a node answers at once from memory, with the values shared instead of copied into a
// response message: Node::TryGetShared and Node::TryBatchGetShared (node.h). The Redis front
// end writes its replies straight from them (docs/resp.md, "Benchmarks").
//
// A SharedValue keeps its bytes alive through `holder` (the cache's shared entry): the entry may
// be replaced or evicted from the cache meanwhile, and the bytes stay valid, unchanged, until
// the holder is released. Thread-compatible.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "kvstore/v1/kv.pb.h"

namespace kv::server {

struct SharedValue {
  // false: absent (a remembered "not found", or a value past its expiration); `value` is empty.
  bool found = false;
  // Valid while `holder` is held.
  absl::string_view value;
  std::shared_ptr<const void> holder;
};

// The freshness of a shared read: ReadInfo's fields, without protobuf. Such a read is never
// a stale fallback (stale = false): it is answered only within the caller's bounds.
struct SharedReadInfo {
  int64_t staleness_micros = 0;
  kvstore::v1::Source source = kvstore::v1::SOURCE_UNSPECIFIED;
  uint64_t as_of_version = 0;
  absl::string_view node_id;  // lives as long as the node
};

struct SharedRead {
  SharedValue value;
  SharedReadInfo info;
};

// Every key's value, in key order, read at one state of the node (never between two parts of a
// commit), as a BatchGet answers.
struct SharedBatchRead {
  // Releases the holders and keeps the vector's memory.
  void Clear() { values.clear(); }

  std::vector<SharedValue> values;
  SharedReadInfo info;
};

}  // namespace kv::server

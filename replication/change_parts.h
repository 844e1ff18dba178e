#pragma once
// The key changes inside a Change: itself, or each part of a commit (KIND_COMMIT), with the
// version they took effect at (a part carries none of its own; replication.proto).

#include <cstdint>

#include "kvstore/v1/replication.pb.h"

namespace kv::replication {

// Calls fn(const Change& key_change, uint64_t version) for every key `change` writes.
template <typename Fn>
void ForEachKeyChange(const kvstore::v1::Change& change, Fn&& fn) {
  if (change.kind() == kvstore::v1::Change::KIND_COMMIT) {
    for (const auto& part : change.parts()) fn(part, change.version());
  } else {
    fn(change, change.version());
  }
}

}  // namespace kv::replication

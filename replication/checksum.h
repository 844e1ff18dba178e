#pragma once
// The dataset checksum (docs/operations.md, "Checksums and kvctl verify"): an order-independent
// hash of every record a full node holds, so two nodes at the same version can prove they hold
// the same bytes without comparing them.
//
//   term(record) = XXH3-64(key, version, expiration, metadata, XXH3-64(value))
//   checksum     = sum of term(record) over every record, mod 2^64
//
// Records expired but not yet swept count until the central node's deletion of them. A change
// updates the sum in O(1): a put subtracts the key's old term (if any) and adds the new one, a
// delete subtracts. The value enters only through its own hash, so a record whose value
// travelled as an invalidation (Change.value_hash) counts the same without the value.
//
// Pure functions; thread-safe.

#include <cstdint>

#include "absl/strings/string_view.h"

namespace kv::replication {

// XXH3-64 of a value.
uint64_t ValueHash(absl::string_view value);

// One record's contribution to the checksum.
uint64_t RecordTerm(absl::string_view key, uint64_t version, int64_t expiration,
                    absl::string_view metadata, uint64_t value_hash);

// The sum of the terms; wraps around (mod 2^64), so removing is exact.
class DatasetChecksum {
 public:
  DatasetChecksum() = default;
  explicit DatasetChecksum(uint64_t sum) : sum_(sum) {}
  void Add(uint64_t term) { sum_ += term; }
  void Remove(uint64_t term) { sum_ -= term; }
  uint64_t value() const { return sum_; }

 private:
  uint64_t sum_ = 0;
};

}  // namespace kv::replication

#pragma once
// Encoding of a key's current state in the data column family.
//
//   [flags u8][version varint64][expiration varint64][metadata_len varint32][metadata][value]
//
// The value comes last so it can be sliced out of a pinned RocksDB buffer without a copy. A
// record whose value is missing carries the value's hash instead (flag 0x2, 8 bytes little-endian
// where the value would be), so it still counts in the dataset checksum (replication/checksum.h).

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace kv::server {

// A record whose view fields point into a buffer owned by someone else.
struct RecordView {
  uint64_t version = 0;
  // Absolute Unix seconds; 0 = never expires.
  int64_t expiration = 0;
  // True when the value travelled as an invalidation and this node has not fetched it yet.
  bool value_missing = false;
  absl::string_view metadata;
  absl::string_view value;
  // value_missing only: XXH3-64 of the value not held yet (0 in records older than checksums).
  uint64_t value_hash = 0;

  // Expired records are absent to every read.
  bool ExpiredAt(int64_t now_unix_seconds) const {
    return expiration != 0 && expiration <= now_unix_seconds;
  }
};

void EncodeRecord(const RecordView& record, std::string* out);
// Returns false when `encoded` is not a valid record (corruption).
bool DecodeRecord(absl::string_view encoded, RecordView* record);

}  // namespace kv::server

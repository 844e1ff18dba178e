#pragma once
// Conversions between rocksdb::Slice and absl::string_view (Debian's abseil has its own
// string_view type, not std::string_view, so RocksDB's ToStringView() does not fit).

#include "absl/strings/string_view.h"
#include "rocksdb/slice.h"

namespace kv {

inline absl::string_view ToView(const rocksdb::Slice& s) { return {s.data(), s.size()}; }
inline rocksdb::Slice ToSlice(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace kv

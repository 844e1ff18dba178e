#pragma once
// The counters of KV.Commit's `add`: a value of exactly 8 bytes, a little-endian two's
// complement 64-bit integer. Shared by the central node (which adds) and the client library.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace kv {

inline constexpr size_t kCounterBytes = 8;

inline std::string EncodeCounterBytes(uint64_t value) {
  std::string bytes(kCounterBytes, '\0');
  for (size_t i = 0; i < kCounterBytes; ++i) bytes[i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

// `bytes` must be kCounterBytes long.
inline uint64_t DecodeCounterBytes(absl::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = kCounterBytes; i-- > 0;) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

}  // namespace kv

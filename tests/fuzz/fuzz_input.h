#pragma once
// Reads structured values from fuzz input bytes. Never fails: past the end it yields zeros and
// empty strings, so every byte string is a valid input. (libFuzzer's FuzzedDataProvider is
// clang-only; this works in the GCC build that replays the corpus too.)

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace kv::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size)
      : data_(reinterpret_cast<const char*>(data)), size_(size) {}

  bool empty() const { return pos_ >= size_; }
  size_t remaining() const { return size_ - pos_; }

  uint8_t U8() { return empty() ? 0 : static_cast<uint8_t>(data_[pos_++]); }
  bool Bool() { return (U8() & 1) != 0; }
  // Little-endian fixed width.
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(U8()) << (8 * i);
    return v;
  }
  // A protobuf-style varint (at most 10 bytes); truncated input ends it.
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && !empty(); shift += 7) {
      uint8_t b = U8();
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    return v;
  }
  // Up to `n` bytes (fewer at the end of the input).
  absl::string_view Bytes(size_t n) {
    if (n > remaining()) n = remaining();
    absl::string_view out(data_ + pos_, n);
    pos_ += n;
    return out;
  }
  // A varint length, then that many bytes (capped at `max` and at the input's end).
  absl::string_view LengthPrefixed(size_t max = SIZE_MAX) {
    uint64_t n = Varint();
    return Bytes(n > max ? max : static_cast<size_t>(n));
  }
  absl::string_view Rest() { return Bytes(remaining()); }

 private:
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Appends a varint-prefixed field, the inverse of FuzzInput::LengthPrefixed (for seeds).
inline void AppendLengthPrefixed(absl::string_view bytes, std::string* out) {
  uint64_t n = bytes.size();
  while (n >= 0x80) {
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
  out->append(bytes.data(), bytes.size());
}

}  // namespace kv::fuzz

#include "tests/checker/hash.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_format.h"

namespace kv::checker {
namespace {

// Reads 8 bytes as a little-endian word, whatever the machine's byte order.
uint64_t LoadLittle64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;
}

}  // namespace

uint64_t Mix64(uint64_t x) {
  // The splitmix64 finalizer: every input bit affects every output bit.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t HashValue(std::string_view bytes) {
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
  uint64_t h = Mix64(bytes.size() * kGolden + 0x6b76636865636bULL);  // "kvcheck"
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    h = Mix64(h ^ LoadLittle64(bytes.data() + i)) + kGolden;
  }
  uint64_t tail = 0;
  for (size_t j = 0; i + j < bytes.size(); ++j) {
    tail |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i + j])) << (8 * j);
  }
  return Mix64(h ^ Mix64(tail + kGolden));
}

void SetDigest::Add(std::string_view key, uint64_t value_hash, uint64_t version) {
  uint64_t item = Mix64(HashValue(key) ^ Mix64(value_hash + Mix64(version)));
  a_ += item;
  b_ += Mix64(item ^ 0x5bd1e9955bd1e995ULL);
  ++count_;
}

std::string SetDigest::ToString() const { return absl::StrFormat("%016x%016x/%d", a_, b_, count_); }

}  // namespace kv::checker

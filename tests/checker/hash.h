#pragma once
// Stable hashes for the history checker: the same bytes hash to the same value on every run and
// every machine, so a saved history can be re-checked later and compared across processes.

#include <cstdint>
#include <string>
#include <string_view>

namespace kv::checker {

// 64-bit hash of a value's bytes. Test clients record HashValue(value) for every write and read,
// and the log's value hashes must be computed the same way.
uint64_t HashValue(std::string_view bytes);

// Scrambles one 64-bit word (a bijection); used to combine fields.
uint64_t Mix64(uint64_t x);

// An order-independent 128-bit digest of a set of items: Add() in any order gives the same
// result. Used to compare node contents quickly.
class SetDigest {
 public:
  void Add(std::string_view key, uint64_t value_hash, uint64_t version);
  uint64_t count() const { return count_; }
  bool operator==(const SetDigest& other) const {
    return a_ == other.a_ && b_ == other.b_ && count_ == other.count_;
  }
  bool operator!=(const SetDigest& other) const { return !(*this == other); }
  // 32 hex digits, then "/<count>".
  std::string ToString() const;

 private:
  // Two independent lanes summed modulo 2^64 (addition commutes, and unlike XOR a repeated item
  // does not cancel itself out).
  uint64_t a_ = 0;
  uint64_t b_ = 0;
  uint64_t count_ = 0;
};

}  // namespace kv::checker

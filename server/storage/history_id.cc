#include "server/storage/history_id.h"

#include <cstdint>
#include <random>

#include "absl/strings/str_cat.h"

namespace kv::server {

std::string NewHistoryId() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
  return absl::StrCat(absl::Hex(rng(), absl::kZeroPad16), absl::Hex(rng(), absl::kZeroPad16));
}

}  // namespace kv::server

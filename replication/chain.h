#pragma once
// The chain of a node: the node ids from it to the central node (its own first, the root last).
// An upstream sends its chain in every stream start, and in the trailing metadata "kv-chain" of
// a refused Subscribe or Snapshot, so a node that finds its own id there knows it is in a
// replication cycle (an edge whose upstream is itself, or a ring of relays) and says so instead
// of waiting forever.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kv::replication {

// Chains longer than this are cut (a deeper tree is not a real deployment).
inline constexpr size_t kMaxChainLength = 32;
// The trailing metadata key of a refusal.
inline constexpr char kChainMetadataKey[] = "kv-chain";

// FAILED_PRECONDITION "replication cycle: a -> b -> a" when `self` is in `upstream_chain`.
absl::Status CheckNoCycle(absl::string_view self, const std::vector<std::string>& upstream_chain);

// "a,b,c" and back; ids never hold commas (ValidNodeId).
std::string FormatChain(const std::vector<std::string>& chain);
std::vector<std::string> ParseChain(absl::string_view text);

// Node ids are 1..128 bytes of letters, digits and ._:@/- (they appear in logs, Status and
// metric labels). OK, or INVALID_ARGUMENT saying why.
absl::Status ValidNodeId(absl::string_view id);

}  // namespace kv::replication

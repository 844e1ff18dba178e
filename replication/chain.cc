#include "replication/chain.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace kv::replication {

absl::Status CheckNoCycle(absl::string_view self, const std::vector<std::string>& upstream_chain) {
  for (size_t i = 0; i < upstream_chain.size(); ++i) {
    if (upstream_chain[i] != self) continue;
    std::vector<std::string> ring(upstream_chain.begin(), upstream_chain.begin() + i + 1);
    return absl::FailedPreconditionError(absl::StrCat(
        "replication cycle: ", self, " -> ", absl::StrJoin(ring, " -> "),
        "; the edges' --upstream flags form a ring, and no node in it can ever sync. Point one of "
        "them at the central node or a relay outside the ring"));
  }
  return absl::OkStatus();
}

std::string FormatChain(const std::vector<std::string>& chain) { return absl::StrJoin(chain, ","); }

std::vector<std::string> ParseChain(absl::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  for (absl::string_view id : absl::StrSplit(text, ',')) {
    if (out.size() == kMaxChainLength) break;
    out.emplace_back(id);
  }
  return out;
}

absl::Status ValidNodeId(absl::string_view id) {
  if (id.empty() || id.size() > 128) {
    return absl::InvalidArgumentError(
        absl::StrCat("a node id must be 1..128 bytes, not ", id.size()));
  }
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != ':' &&
        c != '@' && c != '/' && c != '-') {
      return absl::InvalidArgumentError("a node id may hold only letters, digits and . _ : @ / -");
    }
  }
  return absl::OkStatus();
}

}  // namespace kv::replication

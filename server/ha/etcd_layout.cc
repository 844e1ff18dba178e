#include "server/ha/etcd_layout.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace kv::server {

EtcdLayout::EtcdLayout(absl::string_view cluster) : root_(absl::StrCat("/kv/", cluster, "/")) {}

std::string EtcdLayout::epoch(uint64_t epoch) const {
  return absl::StrFormat("%s%020d", epochs(), epoch);
}

std::string EtcdLayout::candidate(absl::string_view node_id) const {
  return absl::StrCat(candidates(), node_id);
}

std::string EtcdLayout::EncodeLeader(const LeaderRecord& leader) {
  return absl::StrCat(leader.node_id, "\n", leader.address, "\n", leader.epoch);
}

std::optional<LeaderRecord> EtcdLayout::DecodeLeader(absl::string_view value) {
  std::vector<absl::string_view> parts = absl::StrSplit(value, '\n');
  LeaderRecord leader;
  if (parts.size() != 3 || parts[0].empty() || !absl::SimpleAtoi(parts[2], &leader.epoch)) {
    return std::nullopt;
  }
  leader.node_id = std::string(parts[0]);
  leader.address = std::string(parts[1]);
  return leader;
}

std::optional<uint64_t> EtcdLayout::EpochOfKey(absl::string_view key) const {
  uint64_t epoch = 0;
  if (!absl::ConsumePrefix(&key, epochs()) || !absl::SimpleAtoi(key, &epoch)) return std::nullopt;
  return epoch;
}

std::string EtcdLayout::EncodeMembers(const std::vector<std::string>& ids) {
  return absl::StrJoin(ids, ",");
}

std::vector<std::string> EtcdLayout::DecodeMembers(absl::string_view value) {
  return absl::StrSplit(value, ',', absl::SkipEmpty());
}

}  // namespace kv::server

#pragma once
// Where the central nodes of one cluster keep their shared state in etcd (docs/ha.md), under
// "/kv/<cluster>/":
//   leader              "<node id>\n<address>\n<epoch>", attached to the leader's lease
//   epochs/<epoch>      the first version the leader of that epoch committed (kept forever)
//   insync              the in-sync standbys, comma-separated (written by the leader only)
//   candidates/<id>     a campaigning node's held version, attached to its lease
// Epoch keys are zero-padded to 20 digits so that etcd's key order is numeric order.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace kv::server {

struct LeaderRecord {
  std::string node_id;
  std::string address;
  uint64_t epoch = 0;
  // etcd's facts about the key: its lease, and the revision that created it.
  int64_t lease = 0;
  int64_t create_revision = 0;
};

class EtcdLayout {
 public:
  explicit EtcdLayout(absl::string_view cluster);

  std::string leader() const { return root_ + "leader"; }
  std::string epochs() const { return root_ + "epochs/"; }
  std::string epoch(uint64_t epoch) const;
  std::string insync() const { return root_ + "insync"; }
  std::string candidates() const { return root_ + "candidates/"; }
  std::string candidate(absl::string_view node_id) const;

  static std::string EncodeLeader(const LeaderRecord& leader);
  // nullopt when the value is not a leader record.
  static std::optional<LeaderRecord> DecodeLeader(absl::string_view value);
  // The epoch in an epochs/ key, nullopt when malformed.
  std::optional<uint64_t> EpochOfKey(absl::string_view key) const;
  static std::string EncodeMembers(const std::vector<std::string>& ids);
  static std::vector<std::string> DecodeMembers(absl::string_view value);

 private:
  const std::string root_;
};

}  // namespace kv::server

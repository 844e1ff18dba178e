#pragma once
// The central node's change log as the checker sees it: entries in version order, one timeline
// per key, and for every entry bounds on the moment it committed, derived from client timings.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "tests/checker/history.h"

namespace kv::checker {

// Change.Kind.
enum class ChangeKind : uint8_t { kPut, kDelete, kInvalidate };
const char* ChangeKindName(ChangeKind kind);  // "put", "delete", "invalidate"
bool ParseChangeKind(std::string_view name, ChangeKind* kind);

// One change log record (the checker's view of kvstore.v1.Change).
struct LogEntry {
  uint64_t version = 0;
  ChangeKind kind = ChangeKind::kPut;
  std::string key;
  // HashValue of the value: always for kPut, for kInvalidate when the harness fetched it.
  bool has_value_hash = false;
  uint64_t value_hash = 0;
  // Absolute Unix seconds; 0 = never.
  int64_t expiration = 0;
  // A part of a commit of this many keys (0 = a change of its own). The parts of one commit
  // share its version, one entry per key, consecutive in the log.
  uint32_t commit_parts = 0;
};

// A bound on an entry's commit time, and where it came from: `op` is the operation whose time
// it is (-1 = none), `pos` the log position whose evidence it is (it may be another entry's,
// carried over because commits happen in version order).
struct TimeBound {
  int64_t time = 0;
  int64_t op = -1;
  uint32_t pos = 0;
};

// One key's history in the log. State j of the key is: j = 0 before its first entry, j >= 1 the
// state produced by entry positions[j - 1]. State j is current from the commit of entry
// positions[j - 1] until the commit of entry positions[j].
struct KeyTimeline {
  std::vector<uint32_t> positions;
  // States in which the key is absent (0, and after each delete), ascending.
  std::vector<uint32_t> absent_states;
  // States after a put that carries an expiration (absent once it expires), ascending.
  std::vector<uint32_t> expiring_states;
  size_t num_states() const { return positions.size() + 1; }
};

class ChangeLogModel {
 public:
  // `log` must outlive the model. The entries are used in version order; of several entries
  // with one version only the first is used (Check reports such logs as broken), except the
  // parts of a commit (commit_parts > 0), one per key.
  // `ordered_commits`: commits happen in version order, so an entry's commit time bounds
  // propagate to its neighbours (see Propagate).
  ChangeLogModel(const std::vector<LogEntry>& log, bool ordered_commits);

  // Number of distinct versions.
  size_t size() const { return order_.size(); }
  const LogEntry& at(size_t pos) const { return (*log_)[order_[pos]]; }
  uint64_t version(size_t pos) const { return versions_[pos]; }
  uint64_t head_version() const { return versions_.empty() ? 0 : versions_.back(); }
  // Position of `version` (its first entry: a commit has one per key), or -1 when the log does
  // not hold it.
  int64_t Find(uint64_t version) const;
  // Position of `key`'s entry at `version` when the log holds one; else the first entry of
  // `version` (another key's), or -1 when the log does not hold the version at all.
  int64_t FindKey(uint64_t version, std::string_view key) const;

  // The key's timeline; nullptr when the log never mentions the key.
  const KeyTimeline* Timeline(std::string_view key) const;
  // Number of the timeline's entries with version <= v (= the state at version v).
  size_t StateAtVersion(const KeyTimeline& timeline, uint64_t v) const;
  // The state index of the entry at `pos` within its key's timeline (1-based, see KeyTimeline).
  uint32_t StateOf(size_t pos) const { return state_of_[pos]; }

  // Commit time evidence for the entry at `pos`: it committed at or after `time` (a write's
  // invoke), at or before `time` (a write's acknowledgement, a read that returned it).
  void AddLowerBound(size_t pos, int64_t time, int64_t op);
  void AddUpperBound(size_t pos, int64_t time, int64_t op);
  // Derives lo/hi from the evidence. With ordered commits, lo(p) = max of the evidence at
  // positions <= p and hi(p) = min at positions >= p. Call again after adding evidence.
  void Propagate();
  const TimeBound& lo(size_t pos) const { return lo_[pos]; }
  const TimeBound& hi(size_t pos) const { return hi_[pos]; }
  const TimeBound& raw_lo(size_t pos) const { return raw_lo_[pos]; }
  const TimeBound& raw_hi(size_t pos) const { return raw_hi_[pos]; }

 private:
  const std::vector<LogEntry>* log_;
  const bool ordered_commits_;
  std::vector<uint32_t> order_;     // log index of the pos-th entry
  std::vector<uint64_t> versions_;  // version of the pos-th entry, ascending
  std::vector<uint32_t> state_of_;
  absl::flat_hash_map<std::string_view, uint32_t> key_ids_;
  std::vector<KeyTimeline> timelines_;
  std::vector<TimeBound> raw_lo_, raw_hi_, lo_, hi_;
};

}  // namespace kv::checker

#include "tests/checker/change_log_model.h"

#include <algorithm>
#include <numeric>

namespace kv::checker {
namespace {

constexpr const char* kChangeKindNames[] = {"put", "delete", "invalidate"};

}  // namespace

const char* ChangeKindName(ChangeKind kind) { return kChangeKindNames[static_cast<int>(kind)]; }

bool ParseChangeKind(std::string_view name, ChangeKind* kind) {
  for (int i = 0; i < 3; ++i) {
    if (name == kChangeKindNames[i]) {
      *kind = static_cast<ChangeKind>(i);
      return true;
    }
  }
  return false;
}

ChangeLogModel::ChangeLogModel(const std::vector<LogEntry>& log, bool ordered_commits)
    : log_(&log), ordered_commits_(ordered_commits) {
  order_.resize(log.size());
  std::iota(order_.begin(), order_.end(), 0);
  if (!std::is_sorted(order_.begin(), order_.end(),
                      [&](uint32_t a, uint32_t b) { return log[a].version < log[b].version; })) {
    std::stable_sort(order_.begin(), order_.end(),
                     [&](uint32_t a, uint32_t b) { return log[a].version < log[b].version; });
  }
  // Keep the first entry of each version, and every part of a commit (one per key).
  order_.erase(std::unique(order_.begin(), order_.end(),
                           [&](uint32_t a, uint32_t b) {
                             return log[a].version == log[b].version &&
                                    !(log[a].commit_parts > 0 && log[b].commit_parts > 0 &&
                                      log[a].key != log[b].key);
                           }),
               order_.end());
  versions_.reserve(order_.size());
  for (uint32_t i : order_) versions_.push_back(log[i].version);

  state_of_.resize(order_.size());
  for (size_t pos = 0; pos < order_.size(); ++pos) {
    const LogEntry& e = log[order_[pos]];
    auto [it, inserted] = key_ids_.try_emplace(e.key, timelines_.size());
    if (inserted) {
      timelines_.emplace_back();
      timelines_.back().absent_states.push_back(0);
    }
    KeyTimeline& t = timelines_[it->second];
    t.positions.push_back(pos);
    uint32_t state = t.positions.size();
    state_of_[pos] = state;
    if (e.kind == ChangeKind::kDelete) {
      t.absent_states.push_back(state);
    } else if (e.expiration != 0) {
      t.expiring_states.push_back(state);
    }
  }

  const TimeBound none_lo{kInfinitePast, -1, 0};
  const TimeBound none_hi{kInfiniteFuture, -1, 0};
  raw_lo_.assign(order_.size(), none_lo);
  raw_hi_.assign(order_.size(), none_hi);
  for (size_t pos = 0; pos < order_.size(); ++pos) {
    raw_lo_[pos].pos = raw_hi_[pos].pos = pos;
  }
  lo_ = raw_lo_;
  hi_ = raw_hi_;
}

int64_t ChangeLogModel::Find(uint64_t version) const {
  auto it = std::lower_bound(versions_.begin(), versions_.end(), version);
  if (it == versions_.end() || *it != version) return -1;
  return it - versions_.begin();
}

int64_t ChangeLogModel::FindKey(uint64_t version, std::string_view key) const {
  int64_t first = Find(version);
  if (first < 0) return -1;
  for (size_t pos = first; pos < versions_.size() && versions_[pos] == version; ++pos) {
    if (at(pos).key == key) return pos;
  }
  return first;
}

const KeyTimeline* ChangeLogModel::Timeline(std::string_view key) const {
  auto it = key_ids_.find(key);
  return it == key_ids_.end() ? nullptr : &timelines_[it->second];
}

size_t ChangeLogModel::StateAtVersion(const KeyTimeline& timeline, uint64_t v) const {
  return std::partition_point(timeline.positions.begin(), timeline.positions.end(),
                              [&](uint32_t pos) { return versions_[pos] <= v; }) -
         timeline.positions.begin();
}

void ChangeLogModel::AddLowerBound(size_t pos, int64_t time, int64_t op) {
  if (time > raw_lo_[pos].time) raw_lo_[pos] = TimeBound{time, op, static_cast<uint32_t>(pos)};
}

void ChangeLogModel::AddUpperBound(size_t pos, int64_t time, int64_t op) {
  if (time < raw_hi_[pos].time) raw_hi_[pos] = TimeBound{time, op, static_cast<uint32_t>(pos)};
}

void ChangeLogModel::Propagate() {
  lo_ = raw_lo_;
  hi_ = raw_hi_;
  if (!ordered_commits_) return;
  for (size_t pos = 1; pos < lo_.size(); ++pos) {
    if (lo_[pos - 1].time > lo_[pos].time) lo_[pos] = lo_[pos - 1];
  }
  for (size_t pos = hi_.size(); pos-- > 1;) {
    if (hi_[pos].time < hi_[pos - 1].time) hi_[pos - 1] = hi_[pos];
  }
}

}  // namespace kv::checker

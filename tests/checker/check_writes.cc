// Check 1: every acknowledged write is in the log exactly as acknowledged, nothing is applied
// twice, nothing unexplained appears; and the commit-time evidence writes give.

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/checker/check_internal.h"

namespace kv::checker::internal {
namespace {

constexpr int64_t kAmbiguous = -2;

bool IsAckedChange(const Operation& op) {
  return op.outcome == Outcome::kOk &&
         (op.kind == OpKind::kPut || (op.kind == OpKind::kDelete && op.found));
}

bool AllowedUnexplained(const CheckOptions& o, ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kPut:
      return o.allow_unexplained_put;
    case ChangeKind::kDelete:
      return o.allow_unexplained_delete;
    case ChangeKind::kInvalidate:
      return o.allow_unexplained_invalidate;
  }
  return false;
}

// Log entries no client write claims, and how many writes of unknown outcome could explain them.
struct Unexplained {
  std::vector<size_t> positions;
  size_t unknown_writes = 0;
};

}  // namespace

void CheckWrites(Context& c) {
  const std::vector<Operation>& ops = c.ops;
  ChangeLogModel& m = c.model;

  // Client puts by value hash (values are unique per write), acknowledged changes by version.
  absl::flat_hash_map<uint64_t, int64_t> put_by_hash;
  absl::flat_hash_map<uint64_t, int64_t> acked_by_version;
  // The parts of a commit share a version: acknowledged changes by version and key.
  absl::flat_hash_map<std::pair<uint64_t, std::string_view>, int64_t> acked_by_version_key;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Operation& op = ops[i];
    if (!c.valid[i] || op.kind == OpKind::kGet) continue;
    if (op.kind == OpKind::kPut) {
      auto [it, inserted] = put_by_hash.try_emplace(op.value_hash, i);
      if (!inserted && it->second != kAmbiguous) {
        c.Report(ViolationKind::kBadInput,
                 absl::StrFormat("%s and %s wrote the same value hash %016x; test clients must "
                                 "write unique values, so neither is matched by value",
                                 c.Op(it->second), c.Op(i), op.value_hash),
                 {it->second, static_cast<int64_t>(i)});
        it->second = kAmbiguous;
      }
    }
    if (IsAckedChange(op)) {
      acked_by_version_key.try_emplace(std::make_pair(op.version, std::string_view(op.key)), i);
      auto [it, inserted] = acked_by_version.try_emplace(op.version, i);
      if (!inserted &&
          !(op.group != 0 && ops[it->second].group == op.group && ops[it->second].key != op.key)) {
        c.Report(ViolationKind::kWriteMismatch,
                 absl::StrCat(c.Op(it->second), " and ", c.Op(i),
                              " were both acknowledged with version ", op.version),
                 {it->second, static_cast<int64_t>(i)});
      }
    }
  }

  // Attribute every log entry to the client write that produced it.
  absl::flat_hash_map<uint64_t, size_t> pos_of_hash;
  absl::flat_hash_map<std::pair<std::string_view, ChangeKind>, Unexplained> unexplained;
  for (size_t pos = 0; pos < m.size(); ++pos) {
    const LogEntry& e = m.at(pos);
    int64_t w = -1;
    bool by_hash = e.has_value_hash && e.kind != ChangeKind::kDelete;
    if (by_hash) {
      auto it = put_by_hash.find(e.value_hash);
      if (it != put_by_hash.end() && it->second >= 0) {
        w = it->second;
        auto [first, inserted] = pos_of_hash.try_emplace(e.value_hash, pos);
        if (!inserted) {
          c.Report(ViolationKind::kDuplicateWrite,
                   absl::StrCat("the value written by ", c.Op(w), " was applied twice: ",
                                c.Entry(first->second), " and ", c.Entry(pos)),
                   {w});
          m.AddLowerBound(pos, ops[w].invoke_micros, w);
          continue;
        }
      }
    } else {
      auto it = acked_by_version_key.find(std::make_pair(e.version, std::string_view(e.key)));
      if (it != acked_by_version_key.end()) {
        const Operation& op = ops[it->second];
        bool kind_fits = (op.kind == OpKind::kDelete && e.kind == ChangeKind::kDelete) ||
                         (op.kind == OpKind::kPut && e.kind == ChangeKind::kInvalidate);
        if (kind_fits && op.key == e.key) w = it->second;
      }
    }
    if (w < 0) {
      if (AllowedUnexplained(c.options, e.kind)) continue;
      if (by_hash) {
        c.Report(ViolationKind::kUnexplainedChange,
                 absl::StrCat("log ", c.Entry(pos), " holds a value no client wrote"), {});
      } else {
        unexplained[{e.key, e.kind}].positions.push_back(pos);
      }
      continue;
    }
    const Operation& op = ops[w];
    c.entry_op[pos] = w;
    if (op.key != e.key) {
      c.Report(ViolationKind::kWriteMismatch,
               absl::StrCat("the value written by ", c.Op(w),
                            " is in the log under another key: ", c.Entry(pos)),
               {w});
    }
    if (op.outcome == Outcome::kFailed && c.options.failed_writes_must_not_apply) {
      c.Report(
          ViolationKind::kFailedWriteApplied,
          absl::StrCat(c.Op(w), " failed (", op.error, ") but is in the log as ", c.Entry(pos)),
          {w});
    }
    m.AddLowerBound(pos, op.invoke_micros, w);
    if (op.outcome == Outcome::kOk && op.version == e.version) {
      m.AddUpperBound(pos, op.complete_micros, w);
    }
  }

  // Unclaimed deletes/invalidations may come from writes whose outcome is unknown, once each.
  if (!unexplained.empty()) {
    for (size_t i = 0; i < ops.size(); ++i) {
      const Operation& op = ops[i];
      if (!c.valid[i] || op.outcome != Outcome::kUnknown || op.kind == OpKind::kGet) continue;
      if (op.kind == OpKind::kPut && pos_of_hash.contains(op.value_hash)) continue;
      ChangeKind kind = op.kind == OpKind::kPut ? ChangeKind::kInvalidate : ChangeKind::kDelete;
      auto it = unexplained.find(std::make_pair(std::string_view(op.key), kind));
      if (it != unexplained.end()) ++it->second.unknown_writes;
    }
    for (auto& [key_kind, u] : unexplained) {
      for (size_t n = u.unknown_writes; n < u.positions.size(); ++n) {
        c.Report(ViolationKind::kUnexplainedChange,
                 absl::StrCat("log ", c.Entry(u.positions[n]), " was issued by no client (",
                              u.positions.size(), " such entries for this key, but only ",
                              u.unknown_writes, " write(s) of unknown outcome could explain them)"),
                 {});
      }
    }
  }

  // Every acknowledged write is in the log at its version.
  for (size_t i = 0; i < ops.size(); ++i) {
    const Operation& op = ops[i];
    if (!c.valid[i] || !IsAckedChange(op)) continue;
    int64_t pos = m.FindKey(op.version, op.key);
    if (pos >= 0 && c.entry_op[pos] == static_cast<int64_t>(i)) continue;
    auto moved = op.kind == OpKind::kPut ? pos_of_hash.find(op.value_hash) : pos_of_hash.end();
    if (moved != pos_of_hash.end()) {
      c.Report(ViolationKind::kWriteMismatch,
               absl::StrCat(c.Op(i), " was acknowledged with version ", op.version,
                            " but the log holds its value at ", c.Entry(moved->second)),
               {static_cast<int64_t>(i)});
    } else if (pos < 0) {
      c.Report(ViolationKind::kLostWrite,
               absl::StrCat(c.Op(i), " was acknowledged with version ", op.version,
                            ", which the log does not hold (head version ", m.head_version(), ")"),
               {static_cast<int64_t>(i)});
    } else {
      c.Report(ViolationKind::kLostWrite,
               absl::StrFormat("%s was acknowledged with version %d (value %016x), but the log "
                               "has %s there",
                               c.Op(i), op.version, op.value_hash, c.Entry(pos)),
               {static_cast<int64_t>(i)});
    }
  }

  // Versions are a commit sequence: a write acknowledged before another was invoked must have
  // the lower version.
  m.Propagate();
  if (!c.options.ordered_commits) return;
  for (size_t pos = 0; pos < m.size(); ++pos) {
    const TimeBound& hi = m.raw_hi(pos);
    const TimeBound& lo = m.lo(pos);
    if (hi.op < 0 || lo.op < 0 || lo.time <= AddSat(hi.time, c.options.slack_micros)) continue;
    c.Report(ViolationKind::kWriteOrder,
             absl::StrCat(c.Op(lo.op), " got ", c.Entry(lo.pos), ", ordered before ", c.Entry(pos),
                          ", but it was invoked at ", c.Time(lo.time), " after ", c.Op(hi.op),
                          " was acknowledged at ", c.Time(hi.time)),
             {lo.op, hi.op});
  }
}

}  // namespace kv::checker::internal

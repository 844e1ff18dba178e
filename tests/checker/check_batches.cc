// Check of multi-key operations: the reads of one BatchGet must all be explained by one version
// of the log (a reader never sees part of a commit), and the parts of one commit share its
// version. Certain violations only: a read that found nothing may be explained by any state in
// which its key is absent (or expired).

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "tests/checker/check_internal.h"

namespace kv::checker::internal {
namespace {

// Versions [lo, hi) during which a key held one state.
struct Span {
  uint64_t lo = 0;
  uint64_t hi = UINT64_MAX;
};

// The span of state `state` (see KeyTimeline) of `t`.
Span StateSpan(const ChangeLogModel& m, const KeyTimeline& t, uint32_t state) {
  Span s;
  if (state > 0) s.lo = m.version(t.positions[state - 1]);
  if (state < t.positions.size()) s.hi = m.version(t.positions[state]);
  return s;
}

bool Overlaps(const Span& a, const Span& b) { return std::max(a.lo, b.lo) < std::min(a.hi, b.hi); }

// Every span during which `t`'s key may read as absent: absent states, and states that expire.
std::vector<Span> AbsentSpans(const ChangeLogModel& m, const KeyTimeline& t) {
  std::vector<Span> spans;
  for (uint32_t s : t.absent_states) spans.push_back(StateSpan(m, t, s));
  for (uint32_t s : t.expiring_states) spans.push_back(StateSpan(m, t, s));
  return spans;
}

void CheckOneBatch(Context& c, const std::vector<int64_t>& reads) {
  const ChangeLogModel& m = c.model;
  Span common;  // the versions that explain every found read so far
  int64_t narrowest_lo = -1, narrowest_hi = -1;
  std::vector<int64_t> absent;
  for (int64_t i : reads) {
    const Operation& op = c.ops[i];
    if (!op.found) {
      absent.push_back(i);
      continue;
    }
    const KeyTimeline* t = m.Timeline(op.key);
    const int64_t pos = m.FindKey(op.version, op.key);
    if (t == nullptr || pos < 0 || m.at(pos).key != op.key) continue;  // a phantom, reported apart
    const Span span = StateSpan(m, *t, m.StateOf(pos));
    if (span.lo > common.lo) {
      common.lo = span.lo;
      narrowest_lo = i;
    }
    if (span.hi < common.hi) {
      common.hi = span.hi;
      narrowest_hi = i;
    }
    if (common.lo >= common.hi) {
      c.Report(ViolationKind::kTornRead,
               absl::StrCat(c.Op(narrowest_lo), " and ", c.Op(narrowest_hi),
                            " were read together, but no version holds both: the first was "
                            "written at version ",
                            common.lo, ", the second replaced at version ", common.hi,
                            " (part of a commit)"),
               {narrowest_lo, narrowest_hi});
      return;
    }
  }
  for (int64_t i : absent) {
    const KeyTimeline* t = m.Timeline(c.ops[i].key);
    if (t == nullptr) continue;  // never written: absent at every version
    const std::vector<Span> spans = AbsentSpans(m, *t);
    if (std::any_of(spans.begin(), spans.end(),
                    [&](const Span& s) { return Overlaps(s, common); })) {
      continue;
    }
    std::vector<int64_t> involved = {i};
    if (narrowest_lo >= 0) involved.push_back(narrowest_lo);
    c.Report(ViolationKind::kTornRead,
             absl::StrCat(c.Op(i), " found nothing, but its key exists at every version from ",
                          common.lo, " to ",
                          common.hi == UINT64_MAX ? "the head" : absl::StrCat(common.hi),
                          " that explains the other reads of its batch (part of a commit)"),
             involved);
    return;
  }
}

}  // namespace

void CheckBatches(Context& c) {
  // group -> the ok reads of that BatchGet; group -> the acknowledged parts of that commit.
  std::map<uint64_t, std::vector<int64_t>> batches, commits;
  for (size_t i = 0; i < c.ops.size(); ++i) {
    const Operation& op = c.ops[i];
    if (!c.valid[i] || op.group == 0 || op.outcome != Outcome::kOk) continue;
    (op.kind == OpKind::kGet ? batches : commits)[op.group].push_back(i);
  }
  for (const auto& [group, reads] : batches) {
    if (reads.size() > 1) CheckOneBatch(c, reads);
  }
  for (const auto& [group, parts] : commits) {
    for (int64_t i : parts) {
      if (c.ops[i].version == c.ops[parts[0]].version) continue;
      c.Report(ViolationKind::kWriteMismatch,
               absl::StrCat(c.Op(parts[0]), " and ", c.Op(i),
                            " are parts of one commit but were acknowledged at different "
                            "versions"),
               {parts[0], i});
      break;
    }
  }
}

}  // namespace kv::checker::internal

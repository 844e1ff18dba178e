// Checks 2-5: every read returned a state of its key that was current at some moment the read's
// promises allow (bounded staleness, strong, min_version, as_of), and a client's reads of a key
// never go back in time.

#include <algorithm>
#include <optional>
#include <queue>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/units.h"
#include "tests/checker/check_internal.h"

namespace kv::checker::internal {
namespace {

// A no-op delete (nothing to delete) is a strong read that found the key absent.
bool IsReadLike(const Operation& op) {
  return op.outcome == Outcome::kOk &&
         (op.kind == OpKind::kGet || (op.kind == OpKind::kDelete && !op.found));
}
bool IsStrong(const Operation& op) { return op.kind == OpKind::kDelete || op.strong; }
bool IsAckedChange(const Operation& op) {
  return op.outcome == Outcome::kOk &&
         (op.kind == OpKind::kPut || (op.kind == OpKind::kDelete && op.found));
}

// The earliest moment whose state the read must reflect: invoke - bound (strong: invoke).
struct Window {
  int64_t start = kInfinitePast;
  std::string why;  // "invoke - bound 100ms = +1.9s"
};

Window ReadWindow(const Context& c, const Operation& op) {
  Window w;
  int64_t bound = kInfiniteFuture;
  std::string what;
  if (IsStrong(op)) {
    bound = 0;
    what = "invoke";
  } else {
    if (!op.stale && op.bound_micros >= 0) {
      bound = op.bound_micros;
      what = absl::StrCat("invoke - bound ", FormatMicros(bound));
    }
    if (c.options.check_reported_staleness && op.staleness_micros >= 0 &&
        op.staleness_micros < bound) {
      bound = op.staleness_micros;
      what = absl::StrCat("invoke - reported staleness ", FormatMicros(bound));
    }
  }
  if (bound == kInfiniteFuture) return w;
  w.start = SubSat(SubSat(op.invoke_micros, bound), c.options.slack_micros);
  w.why = absl::StrCat(what, " = ", c.Time(w.start));
  return w;
}

// The states of one read's key it may have returned, for the session checks.
struct ReadRange {
  bool usable = false;
  uint32_t lower = 0;
  uint32_t upper = 0;
};

class ReadChecker {
 public:
  explicit ReadChecker(Context& c) : c_(c), m_(c.model) {}

  void Run() {
    const size_t n = c_.ops.size();
    read_pos_.assign(n, -1);
    bad_.assign(n, false);
    as_of_ok_.assign(n, true);
    ranges_.assign(n, ReadRange{});
    for (size_t i = 0; i < n; ++i) {
      if (c_.valid[i] && IsReadLike(c_.ops[i])) CheckExists(i);
    }
    m_.Propagate();
    for (size_t i = 0; i < n; ++i) {
      if (!c_.valid[i] || !IsReadLike(c_.ops[i]) || bad_[i]) continue;
      if (c_.ops[i].found) {
        CheckFound(i);
      } else {
        CheckNotFound(i);
      }
    }
    if (c_.options.check_monotonic_reads || c_.options.check_read_your_writes) CheckSessions();
  }

 private:
  // The returned version (and as_of) exist in the log, for this key, and were committed before
  // the read completed. Reads that pass bound the commit times of what they saw.
  void CheckExists(size_t i) {
    const Operation& op = c_.ops[i];
    const int64_t done = AddSat(op.complete_micros, c_.options.slack_micros);
    const int64_t id = i;
    if (op.found) {
      int64_t pos = m_.FindKey(op.version, op.key);
      std::string problem;
      if (pos < 0) {
        problem =
            absl::StrCat("which the log does not hold (head version ", m_.head_version(), ")");
      } else if (m_.at(pos).key != op.key || m_.at(pos).kind == ChangeKind::kDelete) {
        problem = absl::StrCat("but the log has ", c_.Entry(pos), " there");
      } else {
        const LogEntry& e = m_.at(pos);
        std::optional<uint64_t> expected;
        if (e.has_value_hash) {
          expected = e.value_hash;
        } else if (c_.entry_op[pos] >= 0) {
          expected = c_.ops[c_.entry_op[pos]].value_hash;
        }
        if (expected && *expected != op.value_hash) {
          problem = absl::StrFormat("with value %016x, but that version wrote %016x", op.value_hash,
                                    *expected);
        }
      }
      if (!problem.empty()) {
        c_.Report(ViolationKind::kPhantomRead,
                  absl::StrCat(c_.Op(i), " returned version ", op.version, " ", problem), {id});
        bad_[i] = true;
      } else if (m_.lo(pos).time > done) {
        c_.Report(
            ViolationKind::kFutureRead,
            absl::StrCat(c_.Op(i), " returned ", c_.Entry(pos),
                         " before it existed: it committed no earlier than ", c_.LoReason(pos)),
            Ops(id, m_.lo(pos).op));
        bad_[i] = true;
      } else {
        read_pos_[i] = pos;
        if (c_.options.reads_bound_commits) m_.AddUpperBound(pos, op.complete_micros, id);
      }
    }
    const uint64_t a = op.as_of_version;
    if (!c_.options.check_as_of || a == 0) return;
    int64_t pa = m_.Find(a);
    if (a > m_.head_version()) {
      c_.Report(ViolationKind::kAsOf,
                absl::StrCat(c_.Op(i), " reported as_of version ", a,
                             ", beyond the log's head version ", m_.head_version()),
                {id});
      as_of_ok_[i] = false;
    } else if (pa >= 0 && m_.lo(pa).time > done) {
      c_.Report(ViolationKind::kFutureRead,
                absl::StrCat(c_.Op(i), " reported as_of version ", a,
                             ", which committed no earlier than ", c_.LoReason(pa)),
                Ops(id, m_.lo(pa).op));
      as_of_ok_[i] = false;
    } else if (pa >= 0 && c_.options.reads_bound_commits) {
      m_.AddUpperBound(pa, op.complete_micros, id);
    }
  }

  void CheckFound(size_t i) {
    const Operation& op = c_.ops[i];
    const int64_t id = i;
    const size_t pos = read_pos_[i];
    const KeyTimeline& t = *m_.Timeline(op.key);
    const uint32_t state = m_.StateOf(pos);
    ranges_[i] = ReadRange{true, state, state};
    const bool has_next = state < t.positions.size();
    const size_t next = has_next ? t.positions[state] : 0;

    Window w = ReadWindow(c_, op);
    if (has_next && m_.hi(next).time < w.start) {
      c_.Report(
          IsStrong(op) ? ViolationKind::kStrongRead : ViolationKind::kStaleRead,
          absl::StrCat(c_.Op(i), " returned ", c_.Entry(pos), ", but ", c_.Entry(next),
                       " replaced it and committed by ", c_.HiReason(next), ", before ", w.why),
          Ops(id, m_.hi(next).op));
    }
    const uint64_t a = op.as_of_version;
    if (c_.options.check_as_of && as_of_ok_[i] && a > 0 && has_next && m_.version(next) <= a) {
      c_.Report(ViolationKind::kAsOf,
                absl::StrCat(c_.Op(i), " returned ", c_.Entry(pos), " with as_of version ", a,
                             ", but ", c_.Entry(next), " replaced it"),
                {id});
    }
    CheckMinVersionBelowAsOf(i);
    if (op.min_version > 0 && has_next && m_.version(next) <= op.min_version) {
      c_.Report(ViolationKind::kMinVersion,
                absl::StrCat(c_.Op(i), " asked for min_version ", op.min_version, " but returned ",
                             c_.Entry(pos), ", which ", c_.Entry(next), " had replaced"),
                {id});
    }
    const LogEntry& e = m_.at(pos);
    if (c_.options.has_wall_offset && e.expiration != 0) {
      int64_t expired_by = AddSat(SubSat(e.expiration * 1'000'000, c_.options.wall_offset_micros),
                                  c_.options.expiry_skew_micros);
      if (SubSat(op.invoke_micros, c_.options.slack_micros) > expired_by) {
        c_.Report(ViolationKind::kExpiredRead,
                  absl::StrCat(c_.Op(i), " returned ", c_.Entry(pos), ", which expired at Unix ",
                               e.expiration, " s, certainly by ", c_.Time(expired_by)),
                  {id});
      }
    }
  }

  void CheckNotFound(size_t i) {
    const Operation& op = c_.ops[i];
    const int64_t id = i;
    const KeyTimeline* t = m_.Timeline(op.key);
    if (t == nullptr) {  // Never written: absent throughout.
      if (!CheckMinVersionBelowAsOf(i)) ranges_[i] = ReadRange{true, 0, 0};
      return;
    }
    const auto& ps = t->positions;
    const uint32_t n = ps.size();
    Window w = ReadWindow(c_, op);
    const int64_t done = AddSat(op.complete_micros, c_.options.slack_micros);
    // States that ended before the window opened, and states that began after the read.
    const uint32_t tmin =
        std::partition_point(ps.begin(), ps.end(),
                             [&](uint32_t p) { return m_.hi(p).time < w.start; }) -
        ps.begin();
    const uint32_t tmax = std::partition_point(ps.begin(), ps.end(),
                                               [&](uint32_t p) { return m_.lo(p).time <= done; }) -
                          ps.begin();
    const uint64_t a = c_.options.check_as_of && as_of_ok_[i] ? op.as_of_version : 0;
    const uint32_t amin = a > 0 ? m_.StateAtVersion(*t, a) : 0;
    const uint32_t mmin = op.min_version > 0 ? m_.StateAtVersion(*t, op.min_version) : 0;
    const ViolationKind stale_kind =
        IsStrong(op) ? ViolationKind::kStrongRead : ViolationKind::kStaleRead;

    bool reported = false;
    if (!FindAbsent(*t, tmin, tmax, done)) {
      // The key's last absent state that certainly ended before the window.
      uint32_t last =
          *(std::lower_bound(t->absent_states.begin(), t->absent_states.end(), tmin) - 1);
      c_.Report(stale_kind,
                absl::StrCat(c_.Op(i), " returned not-found, but ", c_.Entry(ps[last]),
                             " had made it exist by ", c_.HiReason(ps[last]), ", before ", w.why,
                             ", and no deletion or expiry of it committed before the read ended"),
                Ops(id, m_.hi(ps[last]).op));
      reported = true;
    }
    reported |= CheckMinVersionBelowAsOf(i);
    if (mmin > 0 && !FindAbsent(*t, mmin, n, kInfiniteFuture)) {
      c_.Report(ViolationKind::kMinVersion,
                absl::StrCat(c_.Op(i), " returned not-found with min_version ", op.min_version,
                             ", but the key exists at every version from ", c_.Entry(ps[mmin - 1]),
                             " on"),
                {id});
      reported = true;
    }
    if (amin > 0 && !FindAbsent(*t, amin, n, kInfiniteFuture)) {
      c_.Report(ViolationKind::kAsOf,
                absl::StrCat(c_.Op(i), " returned not-found with as_of version ", a,
                             ", but the key exists at every version from ", c_.Entry(ps[amin - 1]),
                             " on"),
                {id});
      reported = true;
    }
    const uint32_t lower = std::max({tmin, amin, mmin});
    if (!reported && !FindAbsent(*t, lower, tmax, done)) {
      c_.Report(stale_kind,
                absl::StrCat(c_.Op(i), " returned not-found with as_of version ", a,
                             " and min_version ", op.min_version,
                             ", but at those versions the key exists until after the read ended"),
                {id});
      reported = true;
    }
    if (!reported) ranges_[i] = ReadRange{true, lower, tmax};
  }

  // as_of below min_version: the answer does not reflect what the caller required.
  bool CheckMinVersionBelowAsOf(size_t i) {
    const Operation& op = c_.ops[i];
    if (op.min_version == 0 || op.as_of_version == 0 || op.as_of_version >= op.min_version) {
      return false;
    }
    c_.Report(ViolationKind::kMinVersion,
              absl::StrCat(c_.Op(i), " asked for min_version ", op.min_version,
                           " but was answered as of version ", op.as_of_version),
              {static_cast<int64_t>(i)});
    return true;
  }

  // The smallest state in [from, to] in which the key is absent, or may be (expired; with a
  // wall-clock anchor only once its expiration may have passed by `by`).
  std::optional<uint32_t> FindAbsent(const KeyTimeline& t, uint32_t from, uint32_t to,
                                     int64_t by) const {
    std::optional<uint32_t> best;
    auto a = std::lower_bound(t.absent_states.begin(), t.absent_states.end(), from);
    if (a != t.absent_states.end() && *a <= to) best = *a;
    for (auto e = std::lower_bound(t.expiring_states.begin(), t.expiring_states.end(), from);
         e != t.expiring_states.end() && *e <= to && (!best || *e < *best); ++e) {
      if (!c_.options.has_wall_offset) return *e;
      int64_t exp = m_.at(t.positions[*e - 1]).expiration;
      int64_t may_expire = SubSat(SubSat(exp * 1'000'000, c_.options.wall_offset_micros),
                                  c_.options.expiry_skew_micros);
      if (may_expire <= by) return *e;
    }
    return best;
  }

  std::string StateText(const KeyTimeline& t, uint32_t state) const {
    return state == 0 ? "its initial absence" : c_.Entry(t.positions[state - 1]);
  }

  // Per client and key, in real-time order: a read never returns a state older than one an
  // earlier read returned or than the client's own acknowledged write.
  void CheckSessions();

  static std::vector<int64_t> Ops(int64_t a, int64_t b) {
    if (b < 0 || a == b) return {a};
    return {a, b};
  }

  Context& c_;
  ChangeLogModel& m_;
  std::vector<int64_t> read_pos_;
  std::vector<bool> bad_;
  std::vector<bool> as_of_ok_;
  std::vector<ReadRange> ranges_;
};

void ReadChecker::CheckSessions() {
  struct Event {
    uint64_t client;
    const KeyTimeline* timeline;
    int64_t invoke, complete;
    uint32_t op;
    bool is_read;
  };
  std::vector<Event> events;
  for (size_t i = 0; i < c_.ops.size(); ++i) {
    const Operation& op = c_.ops[i];
    if (!c_.valid[i]) continue;
    if (ranges_[i].usable && op.kind == OpKind::kGet) {
      const KeyTimeline* t = m_.Timeline(op.key);
      if (t)
        events.push_back(
            {op.client, t, op.invoke_micros, op.complete_micros, static_cast<uint32_t>(i), true});
    } else if (c_.options.check_read_your_writes && IsAckedChange(op)) {
      int64_t pos = m_.FindKey(op.version, op.key);
      if (pos >= 0 && c_.entry_op[pos] == static_cast<int64_t>(i)) {
        events.push_back({op.client, m_.Timeline(op.key), op.invoke_micros, op.complete_micros,
                          static_cast<uint32_t>(i), false});
        ranges_[i] = ReadRange{false, m_.StateOf(pos), m_.StateOf(pos)};
      }
    }
  }
  std::sort(events.begin(), events.end(), [](const Event& x, const Event& y) {
    return std::tie(x.client, x.timeline, x.invoke, x.complete, x.op) <
           std::tie(y.client, y.timeline, y.invoke, y.complete, y.op);
  });

  struct Done {
    int64_t complete;
    uint32_t state;
    uint32_t op;
    bool operator>(const Done& o) const { return complete > o.complete; }
  };
  struct Floor {
    uint32_t state = 0;
    int64_t op = -1;
  };
  for (size_t g = 0; g < events.size();) {
    size_t end = g;
    while (end < events.size() && events[end].client == events[g].client &&
           events[end].timeline == events[g].timeline) {
      ++end;
    }
    const KeyTimeline& t = *events[g].timeline;
    std::priority_queue<Done, std::vector<Done>, std::greater<Done>> pending;
    Floor from_read, from_write;
    for (size_t k = g; k < end; ++k) {
      const Event& ev = events[k];
      while (!pending.empty() &&
             AddSat(pending.top().complete, c_.options.slack_micros) < ev.invoke) {
        const Done d = pending.top();
        pending.pop();
        Floor& f = c_.ops[d.op].kind == OpKind::kGet ? from_read : from_write;
        if (f.op < 0 || d.state > f.state) f = Floor{d.state, d.op};
      }
      const ReadRange& r = ranges_[ev.op];
      if (!ev.is_read) {
        pending.push({ev.complete, r.lower, ev.op});
        continue;
      }
      Floor floor;
      ViolationKind kind = ViolationKind::kNonMonotonic;
      if (c_.options.check_monotonic_reads) floor = from_read;
      if (from_write.op >= 0 && from_write.state > floor.state) {
        floor = from_write;
        kind = ViolationKind::kReadYourWrites;
      }
      const Operation& op = c_.ops[ev.op];
      std::optional<uint32_t> state;
      if (op.found) {
        if (r.lower >= floor.state) state = r.lower;
      } else {
        state = FindAbsent(t, std::max(r.lower, floor.state), r.upper,
                           AddSat(op.complete_micros, c_.options.slack_micros));
      }
      if (!state) {
        std::string got = op.found ? StateText(t, r.lower)
                                   : absl::StrCat("not-found (the key was absent in no state from ",
                                                  StateText(t, floor.state), " up to ",
                                                  StateText(t, r.upper), ")");
        std::string before = kind == ViolationKind::kReadYourWrites
                                 ? absl::StrCat("the same client's write ", c_.Op(floor.op),
                                                " made ", StateText(t, floor.state))
                                 : absl::StrCat("the same client's ", c_.Op(floor.op), " saw ",
                                                StateText(t, floor.state));
        c_.Report(kind,
                  absl::StrCat(c_.Op(ev.op), " returned ", got,
                               ", older than what it must "
                               "reflect: ",
                               before, " and completed before this read began"),
                  {static_cast<int64_t>(ev.op), floor.op});
        continue;
      }
      pending.push({ev.complete, *state, ev.op});
    }
    g = end;
  }
}

}  // namespace

void CheckReads(Context& c) { ReadChecker(c).Run(); }

}  // namespace kv::checker::internal

#include "tests/checker/checker.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/units.h"
#include "tests/checker/check_internal.h"

namespace kv::checker {
namespace {

constexpr const char* kViolationNames[kNumViolationKinds] = {"bad_input",
                                                             "log_order",
                                                             "log_gap",
                                                             "lost_write",
                                                             "write_mismatch",
                                                             "duplicate_write",
                                                             "failed_write_applied",
                                                             "unexplained_change",
                                                             "write_order",
                                                             "phantom_read",
                                                             "future_read",
                                                             "stale_read",
                                                             "strong_read",
                                                             "min_version",
                                                             "as_of",
                                                             "expired_read",
                                                             "non_monotonic",
                                                             "read_your_writes",
                                                             "torn_read",
                                                             "diverged"};

}  // namespace

const char* ViolationKindName(ViolationKind kind) {
  return kViolationNames[static_cast<int>(kind)];
}

size_t CheckResult::total() const {
  size_t n = 0;
  for (size_t c : counts) n += c;
  return n;
}

std::string CheckResult::Summary() const {
  std::string out = absl::StrFormat(
      "checked %d ops (%d writes, %d reads, %d ok reads) against %d log entries (%d keys, head "
      "version %d): ",
      stats.ops, stats.writes, stats.reads, stats.reads_checked, stats.log_entries, stats.keys,
      stats.head_version);
  if (ok()) return absl::StrCat(out, "no violations\n");
  absl::StrAppend(&out, total(), " violations\n");
  for (int k = 0; k < kNumViolationKinds; ++k) {
    if (counts[k] > 0) absl::StrAppend(&out, "  ", kViolationNames[k], ": ", counts[k], "\n");
  }
  for (const Violation& v : violations) {
    absl::StrAppend(&out, "[", ViolationKindName(v.kind), "] ", v.message, "\n");
  }
  return out;
}

CheckResult Check(const std::vector<Operation>& ops, const std::vector<LogEntry>& log,
                  const CheckOptions& options) {
  CheckResult result;
  internal::Context c(ops, log, options, &result);
  internal::CheckInputs(c);
  internal::CheckWrites(c);
  internal::CheckReads(c);
  internal::CheckBatches(c);

  CheckStats& s = result.stats;
  s.ops = ops.size();
  for (const Operation& op : ops) {
    if (op.kind == OpKind::kGet) {
      ++s.reads;
      if (op.outcome == Outcome::kOk) ++s.reads_checked;
    } else {
      ++s.writes;
    }
  }
  s.log_entries = log.size();
  s.head_version = c.model.head_version();
  absl::flat_hash_set<std::string_view> keys;
  for (const LogEntry& e : log) keys.insert(e.key);
  s.keys = keys.size();
  return result;
}

namespace internal {

int64_t SubSat(int64_t a, int64_t b) {
  if (a == kInfinitePast || a == kInfiniteFuture) return a;
  if (b == kInfiniteFuture) return kInfinitePast;
  int64_t out;
  if (__builtin_sub_overflow(a, b, &out)) return b > 0 ? kInfinitePast : kInfiniteFuture;
  return out;
}

int64_t AddSat(int64_t a, int64_t b) {
  if (a == kInfinitePast || a == kInfiniteFuture) return a;
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? kInfiniteFuture : kInfinitePast;
  return out;
}

Context::Context(const std::vector<Operation>& ops, const std::vector<LogEntry>& log,
                 const CheckOptions& options, CheckResult* result)
    : ops(ops),
      log(log),
      options(options),
      result(result),
      model(log, options.ordered_commits),
      valid(ops.size(), true),
      entry_op(model.size(), -1) {
  int64_t t0 = kInfiniteFuture;
  for (const Operation& op : ops) t0 = std::min(t0, op.invoke_micros);
  t0_ = t0 == kInfiniteFuture ? 0 : t0;
}

bool Context::Wants(ViolationKind kind) const {
  return result->counts[static_cast<int>(kind)] < options.max_violations_per_kind;
}

void Context::Report(ViolationKind kind, std::string message, std::vector<int64_t> ops) {
  if (Wants(kind)) result->violations.push_back({kind, std::move(message), std::move(ops)});
  ++result->counts[static_cast<int>(kind)];
}

std::string Context::Time(int64_t t) const {
  if (t == kInfiniteFuture) return "(never)";
  if (t == kInfinitePast) return "(always)";
  return absl::StrFormat("%+.6fs", static_cast<double>(t - t0_) / 1e6);
}

std::string Context::Key(std::string_view key) {
  constexpr size_t kMax = 60;
  std::string out = absl::CHexEscape(absl::string_view(key.data(), std::min(key.size(), kMax)));
  return absl::StrCat("\"", out, key.size() > kMax ? "...\"" : "\"");
}

std::string Context::Op(int64_t index) const {
  const Operation& op = ops[index];
  std::string out = absl::StrCat("op #", index, " (client ", op.client, " ");
  if (op.kind == OpKind::kGet && op.strong) absl::StrAppend(&out, "strong ");
  absl::StrAppend(&out, OpKindName(op.kind), " ", Key(op.key));
  if (!op.node.empty()) absl::StrAppend(&out, " at ", op.node);
  absl::StrAppend(&out, ", ", Time(op.invoke_micros), "..", Time(op.complete_micros));
  if (op.kind == OpKind::kGet && !op.strong && op.bound_micros >= 0) {
    absl::StrAppend(&out, ", bound ", FormatMicros(op.bound_micros));
  }
  if (op.outcome != Outcome::kOk) absl::StrAppend(&out, ", outcome ", OutcomeName(op.outcome));
  // What the answer said of itself: a violation's first question is which node vouched for it.
  if (op.kind == OpKind::kGet && op.outcome == Outcome::kOk) {
    if (op.as_of_version > 0) absl::StrAppend(&out, ", answered as of version ", op.as_of_version);
    if (op.staleness_micros >= 0) {
      absl::StrAppend(&out, ", reported staleness ", FormatMicros(op.staleness_micros));
    }
    if (op.source != Source::kUnspecified) absl::StrAppend(&out, ", from ", SourceName(op.source));
  }
  return absl::StrCat(out, ")");
}

std::string Context::Entry(size_t pos) const {
  const LogEntry& e = model.at(pos);
  std::string out =
      absl::StrCat("version ", e.version, " (", ChangeKindName(e.kind), " of ", Key(e.key));
  if (e.has_value_hash) absl::StrAppend(&out, absl::StrFormat(", value %016x", e.value_hash));
  if (entry_op[pos] >= 0) absl::StrAppend(&out, ", by op #", entry_op[pos]);
  return absl::StrCat(out, ")");
}

std::string Context::HiReason(size_t pos) const {
  const TimeBound& b = model.hi(pos);
  if (b.op < 0) return "unknown";
  const Operation& op = ops[b.op];
  std::string why =
      op.kind == OpKind::kGet
          ? absl::StrCat("op #", b.op, " reflected version ", model.version(b.pos),
                         " when it completed")
          : absl::StrCat("op #", b.op, " was acknowledged version ", model.version(b.pos));
  if (b.pos != pos) absl::StrAppend(&why, ", and versions commit in order");
  return absl::StrCat(Time(b.time), " (", why, ")");
}

std::string Context::LoReason(size_t pos) const {
  const TimeBound& b = model.lo(pos);
  if (b.op < 0) return "unknown";
  std::string why =
      absl::StrCat("op #", b.op, " wrote version ", model.version(b.pos), " and was invoked then");
  if (b.pos != pos) absl::StrAppend(&why, ", and versions commit in order");
  return absl::StrCat(Time(b.time), " (", why, ")");
}

void CheckInputs(Context& c) {
  for (size_t i = 0; i < c.ops.size(); ++i) {
    const Operation& op = c.ops[i];
    std::string problem;
    if (op.complete_micros < op.invoke_micros) {
      problem = "completed before it was invoked";
    } else if (op.outcome == Outcome::kOk && op.version == 0 &&
               (op.kind == OpKind::kPut || (op.kind == OpKind::kDelete && op.found))) {
      problem = "is an acknowledged write without a version";
    } else if (op.outcome == Outcome::kOk && op.kind == OpKind::kGet && op.found &&
               op.version == 0) {
      problem = "found a value without a version";
    }
    if (!problem.empty()) {
      c.valid[i] = false;
      c.Report(ViolationKind::kBadInput, absl::StrCat(c.Op(i), " ", problem, "; not checked"),
               {static_cast<int64_t>(i)});
    }
  }

  const std::vector<LogEntry>& log = c.log;
  if (!log.empty() && c.options.first_version != 0 && log[0].version != c.options.first_version) {
    c.Report(ViolationKind::kLogGap,
             absl::StrCat("log starts at version ", log[0].version, ", expected ",
                          c.options.first_version, " (the checker needs the whole log)"),
             {});
  }
  for (size_t i = 1; i < log.size(); ++i) {
    uint64_t prev = log[i - 1].version, cur = log[i].version;
    // The parts of one commit: one entry per key at the commit's version.
    if (cur == prev && log[i].commit_parts > 0 && log[i - 1].commit_parts > 0 &&
        log[i].key != log[i - 1].key) {
      continue;
    }
    if (cur <= prev) {
      c.Report(ViolationKind::kLogOrder,
               absl::StrCat("log entry #", i, " has version ", cur, " after version ", prev,
                            " (versions must strictly increase)"),
               {});
    } else if (cur != prev + 1) {
      c.Report(ViolationKind::kLogGap,
               absl::StrCat("log jumps from version ", prev, " to ", cur, ": ", cur - prev - 1,
                            " version(s) missing"),
               {});
    }
  }
}

}  // namespace internal
}  // namespace kv::checker

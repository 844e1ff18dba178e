#pragma once
// The history checker: given what test clients saw (a History) and the central node's change log
// after the run, proves that no acknowledged write was lost or applied twice and that no read
// broke its freshness promise. It reports only certain violations: every uncertainty (when a
// write really committed, whether an unanswered write happened) is resolved in the system's
// favour. See docs/checker.md.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/checker/change_log_model.h"
#include "tests/checker/history.h"

namespace kv::checker {

enum class ViolationKind : uint8_t {
  kBadInput,            // the history or log cannot be checked as given (e.g. complete < invoke)
  kLogOrder,            // log versions not strictly increasing
  kLogGap,              // a version missing between two log entries
  kLostWrite,           // an acknowledged write is not in the log at its version
  kWriteMismatch,       // a write is in the log, but not as acknowledged (version, key, kind)
  kDuplicateWrite,      // one client write applied more than once
  kFailedWriteApplied,  // a write that failed with a definite error is in the log
  kUnexplainedChange,   // a log entry no client issued, of a kind not allowed unexplained
  kWriteOrder,          // version order contradicts real-time order of writes
  kPhantomRead,         // a read returned a version/value the log does not have for that key
  kFutureRead,          // a read returned a state (or as_of) committed only after it completed
  kStaleRead,           // a bounded read older than its bound
  kStrongRead,          // a strong read of a superseded state
  kMinVersion,          // a read that does not reflect its min_version
  kAsOf,                // a read inconsistent with its own as_of_version
  kExpiredRead,         // a read returned a value certainly expired (needs a wall-clock anchor)
  kNonMonotonic,        // a client's later read returned an older state of a key
  kReadYourWrites,      // a client's read missed the client's own acknowledged write
  kTornRead,  // the reads of one BatchGet see part of a commit (no one version explains them)
  kDiverged,  // a node's final content differs from the log's
};
inline constexpr int kNumViolationKinds = static_cast<int>(ViolationKind::kDiverged) + 1;
const char* ViolationKindName(ViolationKind kind);  // "lost_write", ...

struct Violation {
  ViolationKind kind;
  // One line naming the operation(s) (#index in the history), versions and times.
  std::string message;
  // History indexes of the operations involved.
  std::vector<int64_t> ops;
};

struct CheckOptions {
  // The log must start at this version (the store was empty before it); 0 = wherever it starts.
  uint64_t first_version = 1;
  // Log entry kinds that may appear without a client having issued them. Default: deletions
  // (the expiry sweep turns expired keys into ordinary deletions).
  bool allow_unexplained_put = false;
  bool allow_unexplained_delete = true;
  bool allow_unexplained_invalidate = false;
  // A write that failed with a definite error must not be in the log.
  bool failed_writes_must_not_apply = true;
  // Commits happen in version order (one writer, consecutive versions), so a bound on one
  // entry's commit time bounds its neighbours' too. Makes more violations provable.
  bool ordered_commits = true;
  // A read that returned version v proves v committed before the read completed; use that to
  // bound commit times (helps with writes whose outcome is unknown, and with sweeps).
  bool reads_bound_commits = true;
  // Also hold each read to the staleness it reported (ReadInfo.staleness_micros), which must
  // never underestimate; for reads served with allow_stale it is the only bound.
  bool check_reported_staleness = true;
  // Check reads against their ReadInfo.as_of_version.
  bool check_as_of = true;
  // Session guarantees, per client and key: later reads never return older states, and reads
  // reflect the client's own acknowledged writes. Turn off for clients that read from several
  // nodes without session tokens (bounded staleness alone does not promise either).
  bool check_monotonic_reads = true;
  bool check_read_your_writes = true;
  // Extra slack on every time comparison, in microseconds (0 = clients and nodes share one
  // clock; raise it if they do not).
  int64_t slack_micros = 0;
  // Expiration: log expirations are Unix seconds, op times are monotonic. Without an anchor a
  // key with an expiration may be absent at any time after its put. With one
  // (unix_micros = monotonic_micros + wall_offset_micros, good to +-expiry_skew_micros across
  // nodes) not-found reads before the expiration and found reads after it are checked.
  bool has_wall_offset = false;
  int64_t wall_offset_micros = 0;
  int64_t expiry_skew_micros = 1'000'000;
  // Violations kept per kind; all are counted.
  size_t max_violations_per_kind = 20;
};

struct CheckStats {
  size_t ops = 0;
  size_t writes = 0;
  size_t reads = 0;
  size_t reads_checked = 0;  // ok reads
  size_t log_entries = 0;
  size_t keys = 0;
  uint64_t head_version = 0;
};

struct CheckResult {
  std::vector<Violation> violations;  // at most max_violations_per_kind of each kind
  std::array<size_t, kNumViolationKinds> counts{};
  CheckStats stats;

  bool ok() const { return total() == 0; }
  size_t total() const;
  size_t count(ViolationKind kind) const { return counts[static_cast<int>(kind)]; }
  bool Has(ViolationKind kind) const { return count(kind) > 0; }
  // A short report: stats, counts per kind, then the kept violations one per line.
  std::string Summary() const;
};

// Checks a finished run: `ops` as recorded (indexes are the #numbers in messages) against the
// central node's change log from version 1 (the store must have been empty before its first
// entry). Checks 1-5 of docs/checker.md; convergence is CheckConvergence (convergence.h).
CheckResult Check(const std::vector<Operation>& ops, const std::vector<LogEntry>& log,
                  const CheckOptions& options = {});

}  // namespace kv::checker

#pragma once
// What test clients record: one Operation per put, delete or get, with its invoke and complete
// times on one shared monotonic clock, and what it returned. History collects them from many
// client threads.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"

namespace kv::checker {

// Times are microseconds on one monotonic clock. These stand for "unbounded".
inline constexpr int64_t kInfinitePast = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kInfiniteFuture = std::numeric_limits<int64_t>::max();

enum class OpKind : uint8_t { kPut, kDelete, kGet };

enum class Outcome : uint8_t {
  // The call succeeded; its results are facts.
  kOk,
  // The call failed with a definite error (INVALID_ARGUMENT, FAILED_PRECONDITION, ...): a write
  // that failed this way changed nothing.
  kFailed,
  // Nobody knows (DEADLINE_EXCEEDED, UNAVAILABLE, the run ended first): a write may or may not
  // have happened, now or later.
  kUnknown,
};

// ReadInfo.source.
enum class Source : uint8_t { kUnspecified, kCentral, kEdgeStore, kEdgeCache, kUpstream };

struct Operation {
  // The test client (a sequence of calls) that issued it.
  uint64_t client = 0;
  // Endpoint name of the node the call went to ("central", "edge-a").
  std::string node;
  OpKind kind = OpKind::kGet;
  std::string key;
  // put: HashValue of the value written. get: HashValue of the value read, when found.
  uint64_t value_hash = 0;
  // get: the key was found. delete: the key existed and was deleted (DeleteResponse.deleted).
  bool found = false;
  // put: the version acknowledged. delete: the deletion's version, or when nothing was deleted
  // the head version it was judged at. get: the entry's version, when found.
  uint64_t version = 0;
  // get: ReadInfo.as_of_version (0 = not reported).
  uint64_t as_of_version = 0;
  // get: ReadInfo.staleness_micros; -1 = not reported.
  int64_t staleness_micros = -1;
  // get: ReadInfo.source.
  Source source = Source::kUnspecified;
  // get: ReadInfo.stale, i.e. served beyond the bound because allow_stale was set.
  bool stale = false;
  // get: ReadOptions.min_version (0 = none).
  uint64_t min_version = 0;
  // get: the staleness bound the read was made with, after defaults (the request's
  // max_staleness_micros or the node's --max-staleness); -1 = unknown, not checked.
  int64_t bound_micros = -1;
  // get: CONSISTENCY_STRONG.
  bool strong = false;
  // When the client sent the call and when it got the answer (or gave up).
  int64_t invoke_micros = 0;
  int64_t complete_micros = 0;
  Outcome outcome = Outcome::kOk;
  // For kFailed / kUnknown: the status code name and message, for the report.
  std::string error;
  // A commit (KV.Commit) is recorded as one put or delete per key, all with the same `group`
  // (non-zero, unique in the history), outcome and times; acknowledged, they share one version.
  // A BatchGet is recorded as one get per key with a common `group`: the checker requires that
  // one version explains all of them (no read sees part of a commit). 0 = a call of its own.
  uint64_t group = 0;
};

const char* OpKindName(OpKind kind);       // "put", "delete", "get"
const char* OutcomeName(Outcome outcome);  // "ok", "failed", "unknown"
const char* SourceName(Source source);     // "central", "edge_store", ...
bool ParseOpKind(std::string_view name, OpKind* kind);
bool ParseOutcome(std::string_view name, Outcome* outcome);
bool ParseSource(std::string_view name, Source* source);

// How a call's status should be recorded: OK -> kOk; codes that the server answers before
// changing anything -> kFailed; everything else (DEADLINE_EXCEEDED, UNAVAILABLE, CANCELLED,
// ABORTED, INTERNAL, UNKNOWN, DATA_LOSS) -> kUnknown, because the write may have been applied.
Outcome OutcomeForCode(absl::StatusCode code);

// Collects operations from many threads. Typical use:
//   uint64_t id = history.Begin(op);        // stamps invoke time
//   ... call ...
//   history.End(id, Outcome::kOk, [&](Operation& op) { op.version = response.version(); });
class History {
 public:
  // The clock must be the one all clients share; it must outlive the History.
  explicit History(Clock* clock = Clock::Real()) : clock_(clock) {}

  // Records an operation's start. Sets invoke_micros from the clock unless it is already set
  // (non-zero). Returns the id to pass to End.
  uint64_t Begin(Operation op);
  // Records its end: stamps complete_micros, sets the outcome, then lets `fill` set the results.
  void End(uint64_t id, Outcome outcome, absl::FunctionRef<void(Operation&)> fill);
  void End(uint64_t id, Outcome outcome);
  // Adds a finished operation with its own times.
  void Record(Operation op);

  // All operations in Begin/Record order. Operations not ended yet are returned with outcome
  // kUnknown and complete_micros = kInfiniteFuture (a write still in flight may land later).
  std::vector<Operation> Snapshot() const;
  size_t size() const;

 private:
  Clock* const clock_;
  mutable absl::Mutex mu_;
  std::vector<Operation> ops_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> ended_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::checker

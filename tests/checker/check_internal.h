#pragma once
// Shared state of one Check() run, split over check_writes.cc and check_reads.cc.

#include <string>
#include <string_view>
#include <vector>

#include "tests/checker/change_log_model.h"
#include "tests/checker/checker.h"
#include "tests/checker/history.h"

namespace kv::checker::internal {

class Context {
 public:
  Context(const std::vector<Operation>& ops, const std::vector<LogEntry>& log,
          const CheckOptions& options, CheckResult* result);

  const std::vector<Operation>& ops;
  const std::vector<LogEntry>& log;
  const CheckOptions& options;
  CheckResult* const result;
  ChangeLogModel model;
  // ops[i] passed input validation.
  std::vector<bool> valid;
  // Log position -> the history index of the client write that produced it (-1 = none known).
  std::vector<int64_t> entry_op;

  // Counts the violation; keeps it if this kind has room. Callers that build expensive messages
  // ask Wants() first.
  bool Wants(ViolationKind kind) const;
  void Report(ViolationKind kind, std::string message, std::vector<int64_t> ops);

  // Text for messages.
  std::string Time(int64_t t) const;             // "+1.234567s" from the first invoke
  std::string Op(int64_t index) const;           // "op #12 (client 3 get "k" at edge-a, ...)"
  std::string Entry(size_t pos) const;           // "version 17 (put of "k")"
  static std::string Key(std::string_view key);  // quoted, escaped, shortened
  // Why the entry at `pos` committed no later than hi(pos) / no earlier than lo(pos).
  std::string HiReason(size_t pos) const;
  std::string LoReason(size_t pos) const;

 private:
  int64_t t0_ = 0;
};

// Input validation (kBadInput) and log shape (kLogOrder, kLogGap).
void CheckInputs(Context& c);
// Check 1: acknowledged writes vs the log; commit-time evidence from writes; write order.
void CheckWrites(Context& c);
// Checks 2-5: reads vs the log's timelines (freshness, strong, min_version, as_of, sessions).
void CheckReads(Context& c);

// The reads of one BatchGet (one Operation::group) are explained by one version: none sees part
// of a commit (kTornRead); and the parts of one commit were acknowledged at one version.
void CheckBatches(Context& c);

// a - b and a + b, saturating at the infinities.
int64_t SubSat(int64_t a, int64_t b);
int64_t AddSat(int64_t a, int64_t b);

}  // namespace kv::checker::internal

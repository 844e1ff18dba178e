#pragma once
// Check 6, convergence: after the run every node holds exactly the state the change log
// produces, expired keys excluded on both sides.

#include <cstdint>
#include <string>
#include <vector>

#include "tests/checker/change_log_model.h"
#include "tests/checker/checker.h"
#include "tests/checker/hash.h"
#include "tests/checker/history.h"

namespace kv::checker {

// One live key of a node's final content.
struct NodeEntry {
  std::string key;
  // HashValue of the value. has_value_hash = false when unknown (an invalidated value the node
  // has not fetched); then only the version is compared.
  bool has_value_hash = true;
  uint64_t value_hash = 0;
  uint64_t version = 0;
  // Absolute Unix seconds; 0 = never.
  int64_t expiration = 0;
};

struct ConvergenceOptions {
  // Keys with 0 < expiration <= now_unix_seconds are left out on both sides; 0 = keep all.
  int64_t now_unix_seconds = 0;
  // The node holds a subset (a cache-mode edge): keys it lacks are fine, keys it has must match.
  bool subset = false;
  // Differences reported (all are counted).
  size_t max_differences = 10;
};

// The live state the log produces (its entries applied in version order), sorted by key.
// Values of invalidations without a hash are looked up in `history` (the client write with that
// version), when given.
std::vector<NodeEntry> ExpectedContent(const std::vector<LogEntry>& log,
                                       const std::vector<Operation>* history = nullptr);

// Order-independent digest of the live entries (key, value hash, version); expired entries
// (0 < expiration <= now_unix_seconds) are left out.
SetDigest ContentDigest(const std::vector<NodeEntry>& entries, int64_t now_unix_seconds = 0);

// Compares one node's content (any order) with the expected content. Adds kDiverged violations
// (the first differing keys in key order) to `result`; returns true when they agree.
bool CheckConvergence(const std::string& node, const std::vector<NodeEntry>& content,
                      const std::vector<NodeEntry>& expected, const ConvergenceOptions& options,
                      CheckResult* result);

}  // namespace kv::checker

#pragma once
// The engine behind `kvctl bulk-put`: reads JSON lines, writes them as commits of many keys
// (client/kvctl/bulk_commits.h; or one Put per line with a window in flight), and accounts for
// every line: written, failed (and why; nothing was applied), outcome unknown (the
// Put may have been applied: the connection broke after it was sent, the deadline passed, ...),
// malformed, or blank. RunBulkPut blocks until every line has an outcome; outcomes arrive on
// gRPC threads and are collected under a lock inside it.

#include <cstdint>
#include <istream>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "kv/client.h"

namespace kv::kvctl {

struct BulkPutOptions {
  // One Put per line instead of commits of many lines (the old way, for comparison).
  bool one_per_call = false;
  // one_per_call: Puts in flight at once.
  int window = 64;
  // Commits: lines per commit (<= 1000, the server's limit), bytes of keys, values and metadata
  // per commit (<= 10 MiB), and commits in flight at once.
  int commit_keys = 1000;
  size_t commit_bytes = 4ull << 20;
  int commits_in_flight = 8;
  // Print a progress line on `progress` (kvctl passes stderr only when it is a terminal).
  bool progress = false;
  absl::Duration progress_interval = absl::Milliseconds(250);
  // Keep the text of lines whose outcome is unknown (for WriteUnknownLines). Off by default: it
  // holds a copy of every line in flight.
  bool keep_unknown_lines = false;
};

struct BulkPutReport {
  struct Failure {
    // "malformed" or the gRPC code name ("FAILED_PRECONDITION", ...).
    std::string category;
    std::string message;
  };
  struct Unknown {
    // The gRPC code name ("UNAVAILABLE", "DEADLINE_EXCEEDED", ...).
    std::string category;
    std::string message;
    std::string key;
    // The input line, when BulkPutOptions::keep_unknown_lines.
    std::string text;
  };
  int64_t lines = 0;
  std::vector<int64_t> written;
  std::vector<int64_t> blank;
  // Not written, by line number.
  std::map<int64_t, Failure> failed;
  // Maybe written, by line number: check these keys before writing them again.
  std::map<int64_t, Unknown> unknown;
  absl::Duration elapsed;

  int64_t malformed() const;
};

// Runs the whole file. Never stops early: every line gets an outcome.
BulkPutReport RunBulkPut(client::Client& client, std::istream& in, const BulkPutOptions& options,
                         std::ostream& progress);

// Details of the first `max_details` failures on `err` ("line 7: malformed: key: missing"), and
// of the first `max_details` unknown outcomes with their keys ("line 9: outcome unknown:
// UNAVAILABLE: Socket closed; key: user/9"), then the summary on `out`: counts and rate,
// "written: 1-499,501-1000", "failed: 500" and "outcome unknown: 9", each grouped by category.
void PrintBulkReport(const BulkPutReport& report, std::ostream& out, std::ostream& err,
                     int max_details = 100);

// The input lines whose outcome is unknown, in file order, one per line: a bulk-put file of its
// own. Needs BulkPutOptions::keep_unknown_lines.
void WriteUnknownLines(const BulkPutReport& report, std::ostream& out);

// 0 when every non-blank line was written; kExitOutcomeUnknown when some line's outcome is
// unknown (other lines may also have failed); else kExitPartial.
int BulkExitCode(const BulkPutReport& report);

}  // namespace kv::kvctl

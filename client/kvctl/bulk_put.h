#pragma once
// The engine behind `kvctl bulk-put`: reads JSON lines, keeps a window of Puts in flight, and
// accounts for every line: written, failed (and why), malformed, or blank.

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
  // Puts in flight at once.
  int window = 64;
  // Print a progress line on `progress` (kvctl passes stderr only when it is a terminal).
  bool progress = false;
  absl::Duration progress_interval = absl::Milliseconds(250);
};

struct BulkPutReport {
  struct Failure {
    // "malformed" or the gRPC code name ("FAILED_PRECONDITION", ...).
    std::string category;
    std::string message;
  };
  int64_t lines = 0;
  std::vector<int64_t> written;
  std::vector<int64_t> blank;
  // By line number.
  std::map<int64_t, Failure> failed;
  absl::Duration elapsed;

  int64_t malformed() const;
};

// Runs the whole file. Never stops early: every line gets an outcome.
BulkPutReport RunBulkPut(client::Client& client, std::istream& in, const BulkPutOptions& options,
                         std::ostream& progress);

// Details of the first `max_details` failures on `err` ("line 7: malformed: key: missing"), then
// the summary on `out`: counts and rate, "written: 1-499,501-1000", "failed: 500", and the
// failed lines grouped by category.
void PrintBulkReport(const BulkPutReport& report, std::ostream& out, std::ostream& err,
                     int max_details = 100);

// 0 when every non-blank line was written, else kExitPartial.
int BulkExitCode(const BulkPutReport& report);

}  // namespace kv::kvctl

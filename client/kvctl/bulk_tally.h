#pragma once
// The outcomes of a bulk-put's lines, collected from any thread (gRPC callbacks, commit
// workers) under one lock.

#include <algorithm>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "client/kvctl/bulk_line.h"
#include "client/kvctl/bulk_put.h"
#include "client/kvctl/exit_codes.h"

namespace kv::kvctl {

class Tally {
 public:
  struct Counts {
    size_t written = 0;
    size_t failed = 0;
    size_t unknown = 0;
  };

  void Written(int64_t line) {
    absl::MutexLock l(&mu_);
    report_.written.push_back(line);
  }
  void Failed(int64_t line, std::string category, std::string message) {
    absl::MutexLock l(&mu_);
    report_.failed[line] = {std::move(category), std::move(message)};
  }
  void Unknown(int64_t line, BulkPutReport::Unknown unknown) {
    absl::MutexLock l(&mu_);
    report_.unknown[line] = std::move(unknown);
  }
  void Blank(int64_t line) {
    absl::MutexLock l(&mu_);
    report_.blank.push_back(line);
  }
  // The outcome of writing line `line`: written, unknown (`if_unknown` names its key and text),
  // or failed.
  void Outcome(int64_t line, const absl::Status& status, BulkPutReport::Unknown if_unknown) {
    if (status.ok()) return Written(line);
    if (client::IsOutcomeUnknown(status)) {
      if_unknown.category = CodeName(status);
      if_unknown.message = std::string(status.message());
      return Unknown(line, std::move(if_unknown));
    }
    Failed(line, CodeName(status), std::string(status.message()));
  }
  Counts Get() {
    absl::MutexLock l(&mu_);
    return {report_.written.size(), report_.failed.size(), report_.unknown.size()};
  }
  BulkPutReport Take() {
    absl::MutexLock l(&mu_);
    std::sort(report_.written.begin(), report_.written.end());
    return std::move(report_);
  }

 private:
  absl::Mutex mu_;
  BulkPutReport report_ ABSL_GUARDED_BY(mu_);
};

// Reads every line of `reader`: blank and malformed lines go to `tally`, good lines to `write`
// (its number, its record, and what to report if its outcome is unknown); after_line(number)
// runs after each line.
inline void ForEachLine(
    JsonLinesReader& reader, const BulkPutOptions& options, Tally& tally,
    const std::function<void(int64_t)>& after_line,
    absl::FunctionRef<void(int64_t, BulkRecord, BulkPutReport::Unknown)> write) {
  JsonLinesReader::Line line;
  while (reader.Next(&line)) {
    if (line.blank) {
      tally.Blank(line.number);
    } else if (!line.record.ok()) {
      tally.Failed(line.number, "malformed", std::string(line.record.status().message()));
    } else {
      BulkPutReport::Unknown if_unknown;
      if_unknown.key = line.record->key;
      if (options.keep_unknown_lines) if_unknown.text = std::move(line.text);
      write(line.number, *std::move(line.record), std::move(if_unknown));
    }
    after_line(line.number);
  }
}

}  // namespace kv::kvctl

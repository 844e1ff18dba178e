#include "client/kvctl/bulk_put.h"

#include <algorithm>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/kvctl/bulk_line.h"
#include "client/kvctl/exit_codes.h"
#include "client/kvctl/ranges.h"

namespace kv::kvctl {
namespace {

// Outcomes arrive on gRPC threads; the report is filled under a lock.
class Tally {
 public:
  void Written(int64_t line) {
    absl::MutexLock l(&mu_);
    report_.written.push_back(line);
  }
  void Failed(int64_t line, std::string category, std::string message) {
    absl::MutexLock l(&mu_);
    report_.failed[line] = {std::move(category), std::move(message)};
  }
  void Blank(int64_t line) {
    absl::MutexLock l(&mu_);
    report_.blank.push_back(line);
  }
  std::pair<size_t, size_t> Counts() {
    absl::MutexLock l(&mu_);
    return {report_.written.size(), report_.failed.size()};
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

double Rate(size_t count, absl::Duration elapsed) {
  const double s = absl::ToDoubleSeconds(elapsed);
  return s > 0 ? static_cast<double>(count) / s : 0;
}

}  // namespace

int64_t BulkPutReport::malformed() const {
  return std::count_if(failed.begin(), failed.end(),
                       [](const auto& f) { return f.second.category == "malformed"; });
}

BulkPutReport RunBulkPut(client::Client& client, std::istream& in, const BulkPutOptions& options,
                         std::ostream& progress) {
  const absl::Time start = absl::Now();
  absl::Time last_progress = start;
  bool printed_progress = false;
  Tally tally;
  int64_t lines = 0;
  {
    std::unique_ptr<client::BulkWriter> writer =
        client.NewBulkWriter(client::BulkOptions{options.window});
    JsonLinesReader reader(in);
    JsonLinesReader::Line line;
    while (reader.Next(&line)) {
      lines = line.number;
      if (line.blank) {
        tally.Blank(line.number);
      } else if (!line.record.ok()) {
        tally.Failed(line.number, "malformed", std::string(line.record.status().message()));
      } else {
        const int64_t n = line.number;
        writer->Add(std::move(line.record->key), std::move(line.record->value),
                    std::move(line.record->options),
                    [&tally, n](absl::StatusOr<client::PutResult> r) {
                      if (r.ok()) {
                        tally.Written(n);
                      } else {
                        tally.Failed(n, CodeName(r.status()), std::string(r.status().message()));
                      }
                    });
      }
      const absl::Time now = absl::Now();
      if (options.progress && now - last_progress >= options.progress_interval) {
        last_progress = now;
        printed_progress = true;
        auto [written, failed] = tally.Counts();
        progress << absl::StrFormat(
                        "\rbulk-put: %d lines read, %d written, %d failed, %.0f puts/s ", lines,
                        written, failed, Rate(written, now - start))
                 << std::flush;
      }
    }
    writer->Flush();
  }
  if (printed_progress) progress << "\n";
  BulkPutReport report = tally.Take();
  report.lines = lines;
  report.elapsed = absl::Now() - start;
  return report;
}

void PrintBulkReport(const BulkPutReport& report, std::ostream& out, std::ostream& err,
                     int max_details) {
  int shown = 0;
  for (const auto& [line, f] : report.failed) {
    if (shown++ == max_details) {
      err << "... " << report.failed.size() - max_details << " more failed lines (see summary)\n";
      break;
    }
    err << "line " << line << ": " << f.category << ": " << f.message << "\n";
  }
  out << absl::StrFormat(
      "bulk-put: %d lines, %d written, %d failed (%d malformed), %d blank, %.2fs, %.0f puts/s\n",
      report.lines, report.written.size(), report.failed.size(), report.malformed(),
      report.blank.size(), absl::ToDoubleSeconds(report.elapsed),
      Rate(report.written.size(), report.elapsed));
  out << "written: " << (report.written.empty() ? "none" : FormatRanges(report.written)) << "\n";
  if (report.failed.empty()) return;
  std::map<std::string, std::vector<int64_t>> by_category;
  std::vector<int64_t> all;
  for (const auto& [line, f] : report.failed) {
    by_category[f.category].push_back(line);
    all.push_back(line);
  }
  out << "failed: " << FormatRanges(all) << "\n";
  for (const auto& [category, lines] : by_category) {
    out << "  " << category << ": " << FormatRanges(lines) << "\n";
  }
}

int BulkExitCode(const BulkPutReport& report) {
  return report.failed.empty() ? kExitOk : kExitPartial;
}

}  // namespace kv::kvctl

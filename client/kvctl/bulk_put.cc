#include "client/kvctl/bulk_put.h"

#include <algorithm>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/kvctl/bulk_line.h"
#include "client/kvctl/exit_codes.h"
#include "client/kvctl/output.h"
#include "client/kvctl/ranges.h"

namespace kv::kvctl {
namespace {

// Outcomes arrive on gRPC threads; the report is filled under a lock.
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

double Rate(size_t count, absl::Duration elapsed) {
  const double s = absl::ToDoubleSeconds(elapsed);
  return s > 0 ? static_cast<double>(count) / s : 0;
}

// "  CATEGORY: ranges" lines under a heading, from line -> outcome.
template <typename Outcomes>
void PrintByCategory(const Outcomes& outcomes, std::ostream& out) {
  std::map<std::string, std::vector<int64_t>> by_category;
  for (const auto& [line, o] : outcomes) by_category[o.category].push_back(line);
  for (const auto& [category, lines] : by_category) {
    out << "  " << category << ": " << FormatRanges(lines) << "\n";
  }
}

template <typename Outcomes>
std::vector<int64_t> LinesOf(const Outcomes& outcomes) {
  std::vector<int64_t> lines;
  for (const auto& entry : outcomes) lines.push_back(entry.first);
  return lines;
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
        BulkPutReport::Unknown if_unknown;
        if_unknown.key = line.record->key;
        if (options.keep_unknown_lines) if_unknown.text = std::move(line.text);
        writer->Add(std::move(line.record->key), std::move(line.record->value),
                    std::move(line.record->options),
                    [&tally, n, if_unknown = std::move(if_unknown)](
                        absl::StatusOr<client::PutResult> r) mutable {
                      if (r.ok()) {
                        tally.Written(n);
                      } else if (client::IsOutcomeUnknown(r.status())) {
                        if_unknown.category = CodeName(r.status());
                        if_unknown.message = std::string(r.status().message());
                        tally.Unknown(n, std::move(if_unknown));
                      } else {
                        tally.Failed(n, CodeName(r.status()), std::string(r.status().message()));
                      }
                    });
      }
      const absl::Time now = absl::Now();
      if (options.progress && now - last_progress >= options.progress_interval) {
        last_progress = now;
        printed_progress = true;
        const Tally::Counts c = tally.Get();
        progress << absl::StrFormat(
                        "\rbulk-put: %d lines read, %d written, %d failed, %d outcome unknown, "
                        "%.0f puts/s ",
                        lines, c.written, c.failed, c.unknown, Rate(c.written, now - start))
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
  shown = 0;
  for (const auto& [line, u] : report.unknown) {
    if (shown++ == max_details) {
      err << "... " << report.unknown.size() - max_details
          << " more lines with unknown outcome (see summary; --unknown-out FILE saves them all)\n";
      break;
    }
    err << "line " << line << ": outcome unknown: " << u.category << ": " << u.message
        << "; key: " << Printable(u.key) << "\n";
  }
  const std::string unknown_count =
      report.unknown.empty() ? "" : absl::StrFormat(", %d outcome unknown", report.unknown.size());
  out << absl::StrFormat(
      "bulk-put: %d lines, %d written, %d failed (%d malformed)%s, %d blank, %.2fs, %.0f puts/s\n",
      report.lines, report.written.size(), report.failed.size(), report.malformed(), unknown_count,
      report.blank.size(), absl::ToDoubleSeconds(report.elapsed),
      Rate(report.written.size(), report.elapsed));
  out << "written: " << (report.written.empty() ? "none" : FormatRanges(report.written)) << "\n";
  if (!report.failed.empty()) {
    out << "failed: " << FormatRanges(LinesOf(report.failed)) << "\n";
    PrintByCategory(report.failed, out);
  }
  if (!report.unknown.empty()) {
    out << "outcome unknown: " << FormatRanges(LinesOf(report.unknown)) << "\n";
    PrintByCategory(report.unknown, out);
  }
}

void WriteUnknownLines(const BulkPutReport& report, std::ostream& out) {
  for (const auto& [line, u] : report.unknown) out << u.text << "\n";
}

int BulkExitCode(const BulkPutReport& report) {
  if (!report.unknown.empty()) return kExitOutcomeUnknown;
  return report.failed.empty() ? kExitOk : kExitPartial;
}

}  // namespace kv::kvctl

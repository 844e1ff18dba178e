#include "client/kvctl/bulk_put.h"

#include <algorithm>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/kvctl/bulk_commits.h"
#include "client/kvctl/bulk_line.h"
#include "client/kvctl/bulk_tally.h"
#include "client/kvctl/exit_codes.h"
#include "client/kvctl/output.h"
#include "client/kvctl/ranges.h"

namespace kv::kvctl {
namespace {

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

namespace {

// One Put per line, a window of them in flight (BulkPutOptions::one_per_call).
void PutLineByLine(client::Client& client, JsonLinesReader& reader, const BulkPutOptions& options,
                   Tally& tally, const std::function<void(int64_t)>& after_line) {
  std::unique_ptr<client::BulkWriter> writer =
      client.NewBulkWriter(client::BulkOptions{options.window});
  ForEachLine(reader, options, tally, after_line,
              [&](int64_t n, BulkRecord record, BulkPutReport::Unknown if_unknown) {
                writer->Add(std::move(record.key), std::move(record.value),
                            std::move(record.options),
                            [&tally, n, if_unknown = std::move(if_unknown)](
                                absl::StatusOr<client::PutResult> r) mutable {
                              tally.Outcome(n, r.status(), std::move(if_unknown));
                            });
              });
  writer->Flush();
}

}  // namespace

BulkPutReport RunBulkPut(client::Client& client, std::istream& in, const BulkPutOptions& options,
                         std::ostream& progress) {
  const absl::Time start = absl::Now();
  absl::Time last_progress = start;
  bool printed_progress = false;
  Tally tally;
  int64_t lines = 0;
  auto after_line = [&](int64_t number) {
    lines = number;
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
  };
  JsonLinesReader reader(in);
  if (options.one_per_call) {
    PutLineByLine(client, reader, options, tally, after_line);
  } else {
    PutByCommits(client, reader, options, tally, after_line);
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

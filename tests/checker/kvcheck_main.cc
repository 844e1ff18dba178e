// kvcheck: re-checks a saved run. Exit status 0 = no violations, 1 = violations, 2 = bad input.
//   kvcheck --history H.jsonl --log L.jsonl [--node edge-a=A.jsonl] [--now 1700000000]

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "tests/checker/checker.h"
#include "tests/checker/convergence.h"
#include "tests/checker/jsonl.h"

namespace {

using namespace kv::checker;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int Run(int argc, char** argv) {
  CLI::App app{"Checks a recorded kvstore history against the central node's change log."};
  std::string history_path, log_path;
  std::vector<std::string> nodes, cache_nodes;
  std::string allow = "delete";
  int64_t now = 0;
  int64_t wall_offset = 0;
  bool has_wall_offset = false;
  bool no_monotonic = false, no_ryw = false, no_reported = false, no_as_of = false;
  bool unordered = false, digest = false;
  CheckOptions o;
  app.add_option("--history", history_path, "history JSONL (one operation per line)");
  app.add_option("--log", log_path, "change log JSONL (one entry per line)")->required();
  app.add_option("--node", nodes, "NAME=FILE: a node's final content JSONL (repeatable)");
  app.add_option("--cache-node", cache_nodes,
                 "NAME=FILE: like --node, for a cache-mode node "
                 "that holds a subset");
  app.add_option("--now", now, "Unix seconds: keys expired by then are left out of convergence");
  app.add_option("--allow-unexplained", allow,
                 "log entry kinds no client needs to have issued: comma list of put, delete, "
                 "invalidate, or none")
      ->capture_default_str();
  app.add_option("--first-version", o.first_version, "the log must start here (0 = anywhere)")
      ->capture_default_str();
  app.add_option("--slack-micros", o.slack_micros, "extra slack on time comparisons")
      ->capture_default_str();
  auto* offset = app.add_option("--wall-offset-micros", wall_offset,
                                "Unix micros minus monotonic micros, to check expirations");
  app.add_option("--expiry-skew-micros", o.expiry_skew_micros, "wall-clock error across nodes")
      ->capture_default_str();
  app.add_option("--max-per-kind", o.max_violations_per_kind, "violations printed per kind")
      ->capture_default_str();
  app.add_flag("--no-monotonic", no_monotonic, "skip monotonic-reads checks");
  app.add_flag("--no-read-your-writes", no_ryw, "skip read-your-writes checks");
  app.add_flag("--no-reported-staleness", no_reported, "ignore reads' reported staleness");
  app.add_flag("--no-as-of", no_as_of, "ignore reads' as_of_version");
  app.add_flag("--unordered-commits", unordered, "do not assume commits happen in version order");
  app.add_flag("--digest", digest, "print content digests of the log and every node");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  has_wall_offset = offset->count() > 0;

  o.allow_unexplained_put = o.allow_unexplained_delete = o.allow_unexplained_invalidate = false;
  for (absl::string_view kind : absl::StrSplit(allow, ',', absl::SkipWhitespace())) {
    if (kind == "put") {
      o.allow_unexplained_put = true;
    } else if (kind == "delete") {
      o.allow_unexplained_delete = true;
    } else if (kind == "invalidate") {
      o.allow_unexplained_invalidate = true;
    } else if (kind != "none") {
      std::fprintf(stderr, "--allow-unexplained: unknown kind '%s'\n", std::string(kind).c_str());
      return 2;
    }
  }
  o.check_monotonic_reads = !no_monotonic;
  o.check_read_your_writes = !no_ryw;
  o.check_reported_staleness = !no_reported;
  o.check_as_of = !no_as_of;
  o.ordered_commits = !unordered;
  o.has_wall_offset = has_wall_offset;
  o.wall_offset_micros = wall_offset;

  auto start = std::chrono::steady_clock::now();
  std::vector<Operation> ops;
  if (!history_path.empty()) {
    auto loaded = ReadHistoryFile(history_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      return 2;
    }
    ops = *std::move(loaded);
  }
  auto log = ReadLogFile(log_path);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
    return 2;
  }
  std::fprintf(stderr, "loaded %zu ops and %zu log entries in %.2fs\n", ops.size(), log->size(),
               SecondsSince(start));

  start = std::chrono::steady_clock::now();
  CheckResult result = Check(ops, *log, o);
  std::vector<NodeEntry> expected = ExpectedContent(*log, &ops);
  if (digest) {
    std::printf("digest log: %s\n", ContentDigest(expected, now).ToString().c_str());
  }
  for (const auto& [list, subset] : {std::pair{&nodes, false}, std::pair{&cache_nodes, true}}) {
    for (const std::string& spec : *list) {
      std::vector<std::string> parts = absl::StrSplit(spec, absl::MaxSplits('=', 1));
      if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
        std::fprintf(stderr, "node spec must be NAME=FILE: '%s'\n", spec.c_str());
        return 2;
      }
      auto content = ReadContentFile(parts[1]);
      if (!content.ok()) {
        std::fprintf(stderr, "%s\n", content.status().ToString().c_str());
        return 2;
      }
      ConvergenceOptions co;
      co.now_unix_seconds = now;
      co.subset = subset;
      co.max_differences = o.max_violations_per_kind;
      CheckConvergence(parts[0], *content, expected, co, &result);
      if (digest) {
        std::printf("digest %s: %s\n", parts[0].c_str(),
                    ContentDigest(*content, now).ToString().c_str());
      }
    }
  }
  std::printf("%s", result.Summary().c_str());
  std::fprintf(stderr, "checked in %.2fs\n", SecondsSince(start));
  return result.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }

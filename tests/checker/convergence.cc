#include "tests/checker/convergence.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kv::checker {
namespace {

bool Expired(const NodeEntry& e, int64_t now) {
  return now != 0 && e.expiration != 0 && e.expiration <= now;
}

std::string Describe(const NodeEntry& e) {
  std::string out = absl::StrCat("version ", e.version);
  if (e.has_value_hash) absl::StrAppend(&out, absl::StrFormat(" value %016x", e.value_hash));
  if (e.expiration != 0) absl::StrAppend(&out, " expiring at ", e.expiration);
  return out;
}

// Live, sorted, with duplicates reported.
std::vector<const NodeEntry*> Live(const std::vector<NodeEntry>& entries, int64_t now) {
  std::vector<const NodeEntry*> out;
  out.reserve(entries.size());
  for (const NodeEntry& e : entries) {
    if (!Expired(e, now)) out.push_back(&e);
  }
  std::sort(out.begin(), out.end(),
            [](const NodeEntry* a, const NodeEntry* b) { return a->key < b->key; });
  return out;
}

}  // namespace

std::vector<NodeEntry> ExpectedContent(const std::vector<LogEntry>& log,
                                       const std::vector<Operation>* history) {
  ChangeLogModel model(log, /*ordered_commits=*/false);
  absl::flat_hash_map<uint64_t, uint64_t> put_hash_by_version;
  if (history != nullptr) {
    for (const Operation& op : *history) {
      if (op.kind == OpKind::kPut && op.outcome == Outcome::kOk) {
        put_hash_by_version[op.version] = op.value_hash;
      }
    }
  }
  absl::flat_hash_map<std::string_view, size_t> last;
  for (size_t pos = 0; pos < model.size(); ++pos) last[model.at(pos).key] = pos;
  std::vector<NodeEntry> out;
  for (const auto& [key, pos] : last) {
    const LogEntry& e = model.at(pos);
    if (e.kind == ChangeKind::kDelete) continue;
    NodeEntry n{std::string(key), e.has_value_hash, e.value_hash, e.version, e.expiration};
    if (!n.has_value_hash) {
      auto it = put_hash_by_version.find(e.version);
      if (it != put_hash_by_version.end()) {
        n.has_value_hash = true;
        n.value_hash = it->second;
      }
    }
    out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end(),
            [](const NodeEntry& a, const NodeEntry& b) { return a.key < b.key; });
  return out;
}

SetDigest ContentDigest(const std::vector<NodeEntry>& entries, int64_t now_unix_seconds) {
  SetDigest d;
  for (const NodeEntry& e : entries) {
    if (!Expired(e, now_unix_seconds)) d.Add(e.key, e.value_hash, e.version);
  }
  return d;
}

bool CheckConvergence(const std::string& node, const std::vector<NodeEntry>& content,
                      const std::vector<NodeEntry>& expected, const ConvergenceOptions& options,
                      CheckResult* result) {
  std::vector<const NodeEntry*> got = Live(content, options.now_unix_seconds);
  std::vector<const NodeEntry*> want = Live(expected, options.now_unix_seconds);
  size_t differences = 0;
  auto report = [&](const std::string& key, const std::string& what) {
    if (differences++ < options.max_differences) {
      result->violations.push_back(
          {ViolationKind::kDiverged,
           absl::StrCat("node ", node, " key \"", absl::CHexEscape(key), "\": ", what),
           {}});
    }
  };
  size_t i = 0, j = 0;
  while (i < got.size() || j < want.size()) {
    int cmp = i == got.size() ? 1 : j == want.size() ? -1 : got[i]->key.compare(want[j]->key);
    if (cmp < 0) {
      report(got[i]->key, absl::StrCat("has ", Describe(*got[i]), ", but the log has no live key"));
      ++i;
    } else if (cmp > 0) {
      if (!options.subset) {
        report(want[j]->key, absl::StrCat("missing; the log has ", Describe(*want[j])));
      }
      ++j;
    } else {
      const NodeEntry& g = *got[i];
      const NodeEntry& w = *want[j];
      bool same = g.version == w.version &&
                  (!g.has_value_hash || !w.has_value_hash || g.value_hash == w.value_hash) &&
                  g.expiration == w.expiration;
      if (!same) report(g.key, absl::StrCat("has ", Describe(g), ", the log has ", Describe(w)));
      if (i + 1 < got.size() && got[i + 1]->key == g.key) {
        report(g.key, "held twice");
        ++i;
      }
      ++i;
      ++j;
    }
  }
  if (differences > options.max_differences) {
    result->violations.push_back(
        {ViolationKind::kDiverged,
         absl::StrCat("node ", node, ": ", differences - options.max_differences,
                      " more differing keys"),
         {}});
  }
  result->counts[static_cast<int>(ViolationKind::kDiverged)] += differences;
  return differences == 0;
}

}  // namespace kv::checker

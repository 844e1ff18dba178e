#include "auth/permissions.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kv::auth {
namespace {

// Keeps only the prefixes not covered by a shorter one; sorted by length then bytes.
void Normalize(std::vector<std::string>& prefixes) {
  std::sort(prefixes.begin(), prefixes.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  std::vector<std::string> kept;
  for (std::string& p : prefixes) {
    bool covered = std::any_of(kept.begin(), kept.end(),
                               [&](const std::string& k) { return absl::StartsWith(p, k); });
    if (!covered) kept.push_back(std::move(p));
  }
  prefixes = std::move(kept);
}

std::string Shown(absl::string_view subject) {
  constexpr size_t kMax = 64;
  std::string out = absl::CHexEscape(subject.substr(0, kMax));
  if (subject.size() > kMax) out += "...";
  return out;
}

}  // namespace

bool IsReservedKey(absl::string_view key) { return kv::IsReservedKey(key); }

bool PrefixOverlapsReserved(absl::string_view prefix) {
  return absl::StartsWith(prefix, kReservedPrefix) || absl::StartsWith(kReservedPrefix, prefix);
}

Permissions Permissions::Parse(absl::string_view scope) {
  Permissions p;
  for (absl::string_view word : absl::StrSplit(scope, ' ', absl::SkipEmpty())) {
    if (word == "admin") {
      p.admin_ = true;
    } else if (word == "replicate") {
      p.replicate_ = true;
    } else if (absl::ConsumePrefix(&word, "read:")) {
      p.read_.emplace_back(word);
    } else if (absl::ConsumePrefix(&word, "write:")) {
      p.write_.emplace_back(word);
    }
  }
  Normalize(p.read_);
  Normalize(p.write_);
  return p;
}

bool Permissions::Covered(const std::vector<std::string>& prefixes, absl::string_view key) {
  for (const std::string& p : prefixes) {
    if (absl::StartsWith(key, p)) return true;
  }
  return false;
}

bool Permissions::CanRead(absl::string_view key) const {
  if (IsReservedKey(key)) return admin_;
  return Covered(read_, key);
}

bool Permissions::CanReadPrefix(absl::string_view prefix) const {
  if (IsReservedKey(prefix)) return admin_;
  return Covered(read_, prefix);
}

bool Permissions::CanWrite(absl::string_view key) const {
  if (IsReservedKey(key)) return admin_;
  return Covered(write_, key);
}

absl::Status Permissions::Check(Action action, absl::string_view subject) const {
  bool ok = false;
  switch (action) {
    case Action::kRead:
      ok = CanRead(subject);
      break;
    case Action::kList:
      ok = CanReadPrefix(subject);
      break;
    case Action::kWrite:
      ok = CanWrite(subject);
      break;
    case Action::kAdmin:
      ok = admin_;
      break;
    case Action::kReplicate:
      ok = replicate_;
      break;
  }
  if (ok) return absl::OkStatus();
  return absl::PermissionDeniedError(MissingScopeMessage(action, subject));
}

std::string MissingScopeMessage(Action action, absl::string_view subject) {
  switch (action) {
    case Action::kRead:
    case Action::kList:
    case Action::kWrite:
      if (IsReservedKey(subject)) {
        return absl::StrCat("missing scope admin (", action == Action::kList ? "prefix" : "key",
                            " is in the reserved namespace ", kReservedPrefix, ")");
      }
      return absl::StrCat("missing scope ",
                          action == Action::kWrite ? "write:" : "read:", Shown(subject));
    case Action::kAdmin:
      return "missing scope admin";
    case Action::kReplicate:
      return "missing scope replicate";
  }
  return "missing scope";
}

}  // namespace kv::auth

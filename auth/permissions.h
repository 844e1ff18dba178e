#pragma once
// What a verified token allows, parsed once from its OAuth-style `scope` claim (space-separated):
//   read:PREFIX   Get/BatchGet of keys starting with PREFIX, List of prefixes starting with it
//   write:PREFIX  Put/Delete of keys starting with PREFIX
//   admin         the reserved namespace (kReservedPrefix) and cluster administration calls
//   replicate     the replication service (Subscribe, Snapshot, Fetch): node-to-node traffic
// An empty PREFIX ("read:") means every key outside the reserved namespace. Keys in the reserved
// namespace are readable and writable with `admin` alone and never through read:/write:. Admin
// does not imply read:/write: of ordinary keys, and replicate implies nothing else. Unknown
// scopes are ignored (they may belong to other services).
//
// Immutable after parsing; safe to share between threads.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/reserved_keys.h"

namespace kv::auth {

// Keys starting with this are cluster data (configuration, key sets, markers); defined with the
// other reserved keys in common/reserved_keys.h.
inline constexpr absl::string_view kReservedPrefix = kv::kReservedKeyPrefix;

// True when `key` is in the reserved namespace.
bool IsReservedKey(absl::string_view key);

// True when a List of `prefix` may return reserved keys: `prefix` starts with kReservedPrefix
// or is itself a prefix of it ("", "_", "__kv"). A non-admin List of such a prefix must drop
// the reserved keys from its results (filter with CanRead).
bool PrefixOverlapsReserved(absl::string_view prefix);

// The operation a call needs, for Check() and MissingScopeMessage().
enum class Action { kRead, kList, kWrite, kAdmin, kReplicate };

class Permissions {
 public:
  Permissions() = default;  // allows nothing

  // Parses a scope string. Never fails: unknown words are ignored, repeated spaces allowed.
  static Permissions Parse(absl::string_view scope);

  // Get/BatchGet of `key`.
  bool CanRead(absl::string_view key) const;
  // List of `prefix`: allowed only when a granted read prefix is a prefix of `prefix` (a grant
  // of "users/" allows listing "users/" and "users/a", not "" nor "use"). A reserved `prefix`
  // needs admin. See PrefixOverlapsReserved for the results of listing "" or "_".
  bool CanReadPrefix(absl::string_view prefix) const;
  // Put/Delete of `key`.
  bool CanWrite(absl::string_view key) const;
  bool IsAdmin() const { return admin_; }
  bool CanReplicate() const { return replicate_; }

  // OK, or PERMISSION_DENIED with MissingScopeMessage(action, subject). `subject` is the key
  // (kRead, kWrite), the listed prefix (kList), and ignored for kAdmin and kReplicate.
  absl::Status Check(Action action, absl::string_view subject = {}) const;

  // The granted prefixes, normalized (a prefix covered by a shorter granted one is dropped),
  // for logs and tests.
  const std::vector<std::string>& read_prefixes() const { return read_; }
  const std::vector<std::string>& write_prefixes() const { return write_; }

 private:
  static bool Covered(const std::vector<std::string>& prefixes, absl::string_view key);

  std::vector<std::string> read_;
  std::vector<std::string> write_;
  bool admin_ = false;
  bool replicate_ = false;
};

// "missing scope read:users/42", "missing scope admin (key is in the reserved namespace __kv/)",
// ... The key or prefix (caller-supplied, never a stored value) is C-escaped and cut to 64 bytes.
std::string MissingScopeMessage(Action action, absl::string_view subject = {});

}  // namespace kv::auth

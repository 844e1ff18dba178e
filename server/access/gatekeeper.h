#pragma once
// Who may call this node: verifies bearer tokens where the call arrives (every transport hands
// the `authorization` value it received to Admit), holds the cluster's key set as this node
// last received it, and counts every refusal by reason (kv_auth_denied_total{reason}).
//
// With --auth required, a call without a valid token is refused with UNAUTHENTICATED before it
// reaches the node, and a node without a key set refuses every call with UNAVAILABLE (it cannot
// tell good tokens from bad, so it lets none through) and reports itself not ready. With auth
// off, Admit only carries the caller's credentials along (an edge forwards them upstream).
// What a verified caller may do is decided by AuthorizedNode (authorized_node.h), the
// Replication service (replicate scope or a cluster client certificate) and the Admin service.
//
// Threading: every method may be called from any thread at once; key set changes never block
// verifications (auth::Verifier). Ownership: owns the verifier; `metrics` outlives it.

#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "auth/refusal.h"
#include "auth/verifier.h"
#include "kvstore/v1/admin.pb.h"
#include "server/metrics/metrics.h"
#include "server/node/cluster_data.h"
#include "server/node/node.h"

namespace kv::server {

struct GatekeeperOptions {
  // --auth required: every call needs a valid token.
  bool required = false;
  // Issuer, audiences, clock skew, cache size (--auth-issuer, --auth-audience, ...).
  auth::VerifierOptions verifier;
};

class Gatekeeper {
 public:
  // `metrics` may be null (no counting).
  Gatekeeper(GatekeeperOptions options, Metrics* metrics);

  bool required() const { return options_.required; }

  // Verifies the caller's `authorization` value (nullopt when the call carried none; a call that
  // carried several must pass the malformed status from MalformedAuthorization instead) and fills
  // call->authorization and, with auth required, call->principal. Refusals are counted.
  absl::Status Admit(std::optional<absl::string_view> authorization, CallContext* call);
  // The refusal of a call that carried more than one `authorization` value (counted).
  absl::Status MalformedAuthorization();
  // Counts a call refused for a missing scope (PERMISSION_DENIED); returns `status`.
  absl::Status Denied(absl::Status status);

  // Installs the cluster's key set, as committed at `version`. A version not newer than the
  // installed one is ignored (a fetched answer that raced a newer stream change never undoes a
  // rotation), unless `replace`: the node began another history (a snapshot, a start at the
  // head), where versions may be lower. On a parse error the current set stays and the error is
  // returned.
  absl::Status InstallKeySet(absl::string_view jwks, uint64_t version, bool replace);
  // The key set was deleted at `version` (same rules): with auth required every call is then
  // refused.
  void RemoveKeySet(uint64_t version, bool replace);
  bool has_key_set() const;
  uint64_t key_set_version() const;

  // Feeds the changes of reserved keys a node reports (the key set) into this gatekeeper.
  ClusterDataObserver Observer();

  // When auth is required and no key set was received yet: why the node is not ready.
  bool Ready(std::string* why_not) const;
  void FillStatus(kvstore::v1::AuthStatus* status) const;

 private:
  // A refusal's reason label (auth/refusal.h) plus our own for a missing scope.
  static constexpr size_t kMissingScope = std::size(auth::kAllRefusals);
  static constexpr size_t kReasons = kMissingScope + 1;
  // Counts a refusal, and logs it at most once per reason every 10 s (with how many were not
  // logged), so a flood of bad tokens cannot flood the log. Messages never hold a token.
  void Count(size_t reason, const absl::Status& status);

  const GatekeeperOptions options_;
  auth::Verifier verifier_;
  // One counter per reason, created up front so the hot path never looks a label up.
  std::array<prometheus::Counter*, kReasons> denied_{};
  std::array<std::atomic<int64_t>, kReasons> last_logged_micros_{};
  std::array<std::atomic<uint64_t>, kReasons> unlogged_{};

  mutable absl::Mutex mu_;
  uint64_t key_set_version_ ABSL_GUARDED_BY(mu_) = 0;
  bool key_set_loaded_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> kids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::server

#pragma once
// Decides whether a call's bearer token is valid and what it allows. The one entry point the
// nodes use:
//
//   auth::Verifier verifier(options);
//   verifier.SetKeySetJson(jwks);                       // at start and on every rotation
//   auto principal = verifier.VerifyAuthorization(header_value_or_nullopt);
//   if (!principal.ok()) -> UNAUTHENTICATED, metric label RefusalLabel(*RefusalOf(status))
//   (*principal)->permissions.Check(Action::kRead, key) -> PERMISSION_DENIED when not OK
//
// Order of checks (each refusal is a RefusalStatus with its Refusal reason): key set present,
// token size, cache; then JWS structure and header (jws.h), key selection (by kid when the
// header has one, else every key of the header's alg), the header alg must be the selected
// key's alg, signature, and only then the claims (claims.h). A verified token is cached until
// exp + skew, under the current key-set generation.
//
// Thread-safe: any number of threads may verify while another rotates the key set. The key
// set is held behind an atomic shared_ptr, so a rotation never blocks or tears a verification;
// a verification that started under the old set finishes with it, and its cache entry is
// tagged with the old generation, so it cannot outlive the rotation.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/claims.h"
#include "auth/key_set.h"
#include "auth/principal.h"
#include "auth/signature.h"
#include "auth/token_cache.h"
#include "common/clock.h"

namespace kv::auth {

struct VerifierOptions {
  // Required "iss"; "" = not checked.
  std::string issuer;
  // Accepted audiences ("aud" must contain one); empty = not checked.
  std::vector<std::string> audiences;
  // Tolerated clock difference for exp and nbf.
  absl::Duration clock_skew = absl::Seconds(30);
  // Refuse tokens without "exp".
  bool require_exp = true;
  // Longest token accepted (bytes after "Bearer ").
  size_t max_token_bytes = 8 * 1024;
  // Verified-token cache; capacity 0 disables it.
  TokenCacheOptions cache;
  // Limits of SetKeySetJson.
  KeySetOptions key_set;
  // Signature implementation (signature.h). kLibJwt re-reads PEM keys per call (~260 us).
  SignatureBackend signature_backend = SignatureBackend::kOpenSsl;
  // Wall clock for exp/nbf; null = Clock::Real(). Not owned; must outlive the verifier.
  Clock* clock = nullptr;
};

class Verifier {
 public:
  explicit Verifier(VerifierOptions options);
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // Installs a key set (null removes it: every token is then refused with no_key_set). Bumps
  // the generation, which invalidates every cached token.
  void SetKeySet(std::shared_ptr<const KeySet> keys);
  // Parses a JWKS document and installs it; on error the current set stays.
  absl::Status SetKeySetJson(absl::string_view jwks);

  std::shared_ptr<const KeySet> key_set() const;
  uint64_t generation() const;

  // Verifies the value of the `authorization` metadata (nullopt when the call has none).
  absl::StatusOr<std::shared_ptr<const Principal>> VerifyAuthorization(
      std::optional<absl::string_view> authorization);
  // Verifies a bare token.
  absl::StatusOr<std::shared_ptr<const Principal>> VerifyToken(absl::string_view token);

  TokenCacheStats cache_stats() const { return cache_.stats(); }

 private:
  struct KeyState {
    std::shared_ptr<const KeySet> keys;
    uint64_t generation = 0;
  };

  absl::StatusOr<std::shared_ptr<const Principal>> VerifyUncached(absl::string_view token,
                                                                  const KeySet& keys,
                                                                  int64_t now_micros);

  const VerifierOptions options_;
  const ClaimRules rules_;
  Clock* const clock_;
  TokenCache cache_;
  std::atomic<std::shared_ptr<const KeyState>> state_;
  std::atomic<uint64_t> next_generation_{1};
};

}  // namespace kv::auth

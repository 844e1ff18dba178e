#pragma once
// The cluster's verification keys, read from a JWKS document (RFC 7517 section 5). A KeySet is
// immutable: a rotation builds a new one and swaps it into the Verifier, so readers never see
// a half-updated set. Safe to read from many threads.
//
// Checks when parsing (an error names the offending key as `key #i (kid "...")`): strict JSON
// (no duplicate members), a non-empty "keys" array of at most max_keys, unique kids, each key
// valid for KeyFromJwk(..., PrivateParts::kRefuse): known kty/crv/alg, RSA >= 2048 bits,
// HS256 secrets >= 32 bytes, no private members.

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "auth/alg.h"
#include "auth/jwk.h"

namespace kv::auth {

struct KeySetOptions {
  // Largest JWKS document accepted.
  size_t max_document_bytes = 256 * 1024;
  // Most keys in one set (tokens without a kid try every key of their alg).
  size_t max_keys = 32;
};

// A key with what verification needs precomputed.
struct VerifyKey {
  Key key;
  // SubjectPublicKeyInfo PEM of RS256/ES256 keys, the form libjwt takes; empty otherwise.
  std::string public_pem;
};

class KeySet {
 public:
  static absl::StatusOr<std::shared_ptr<const KeySet>> Parse(absl::string_view jwks,
                                                             const KeySetOptions& options = {});

  // The key with this kid, or null.
  const VerifyKey* FindByKid(absl::string_view kid) const;
  // Every key for `alg`, in document order (for tokens without a kid).
  const std::vector<const VerifyKey*>& KeysFor(Alg alg) const;

  size_t size() const { return keys_.size(); }
  const std::vector<std::unique_ptr<VerifyKey>>& keys() const { return keys_; }

 private:
  KeySet() = default;

  std::vector<std::unique_ptr<VerifyKey>> keys_;
  absl::flat_hash_map<std::string, const VerifyKey*> by_kid_;
  std::array<std::vector<const VerifyKey*>, 4> by_alg_;
};

}  // namespace kv::auth

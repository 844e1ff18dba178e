#include "auth/verifier.h"

#include "absl/strings/str_cat.h"
#include "auth/bearer.h"
#include "auth/jws.h"
#include "auth/refusal.h"
#include "auth/signature.h"

namespace kv::auth {
namespace {

ClaimRules RulesFrom(const VerifierOptions& o) {
  ClaimRules rules;
  rules.issuer = o.issuer;
  rules.audiences = o.audiences;
  rules.clock_skew = o.clock_skew;
  rules.require_exp = o.require_exp;
  return rules;
}

}  // namespace

Verifier::Verifier(VerifierOptions options)
    : options_(std::move(options)),
      rules_(RulesFrom(options_)),
      clock_(options_.clock != nullptr ? options_.clock : Clock::Real()),
      cache_(options_.cache),
      state_(std::make_shared<const KeyState>()) {}

void Verifier::SetKeySet(std::shared_ptr<const KeySet> keys) {
  auto state = std::make_shared<KeyState>();
  state->keys = std::move(keys);
  state->generation = next_generation_.fetch_add(1);
  state_.store(std::move(state));
  cache_.Clear();
}

absl::Status Verifier::SetKeySetJson(absl::string_view jwks) {
  absl::StatusOr<std::shared_ptr<const KeySet>> keys = KeySet::Parse(jwks, options_.key_set);
  if (!keys.ok()) return keys.status();
  SetKeySet(std::move(*keys));
  return absl::OkStatus();
}

std::shared_ptr<const KeySet> Verifier::key_set() const { return state_.load()->keys; }

uint64_t Verifier::generation() const { return state_.load()->generation; }

absl::StatusOr<std::shared_ptr<const Principal>> Verifier::VerifyAuthorization(
    std::optional<absl::string_view> authorization) {
  absl::StatusOr<absl::string_view> token = ExtractBearerToken(authorization);
  if (!token.ok()) return token.status();
  return VerifyToken(*token);
}

absl::StatusOr<std::shared_ptr<const Principal>> Verifier::VerifyToken(absl::string_view token) {
  if (token.empty()) return RefusalStatus(Refusal::kMissing, "empty token");
  if (token.size() > options_.max_token_bytes) {
    return RefusalStatus(
        Refusal::kMalformed,
        absl::StrCat("token of ", token.size(), " bytes; the limit is ", options_.max_token_bytes));
  }
  std::shared_ptr<const KeyState> state = state_.load();
  if (state->keys == nullptr) return RefusalStatus(Refusal::kNoKeySet, "no key set is loaded");

  const int64_t now = clock_->UnixMicros();
  const TokenCache::Digest digest = TokenCache::DigestOf(token);
  if (std::shared_ptr<const Principal> hit = cache_.Lookup(digest, state->generation, now)) {
    return hit;
  }
  absl::StatusOr<std::shared_ptr<const Principal>> principal =
      VerifyUncached(token, *state->keys, now);
  if (principal.ok() && (*principal)->expires_unix > 0) {
    int64_t until =
        (*principal)->expires_unix * 1'000'000 + absl::ToInt64Microseconds(options_.clock_skew) + 1;
    cache_.Insert(digest, state->generation, until, *principal);
  }
  return principal;
}

absl::StatusOr<std::shared_ptr<const Principal>> Verifier::VerifyUncached(absl::string_view token,
                                                                          const KeySet& keys,
                                                                          int64_t now_micros) {
  absl::StatusOr<Jws> jws = ParseJws(token);
  if (!jws.ok()) return jws.status();

  const VerifyKey* verified_by = nullptr;
  if (jws->kid.has_value()) {
    const VerifyKey* key = keys.FindByKid(*jws->kid);
    if (key == nullptr) {
      return RefusalStatus(Refusal::kUnknownKid, absl::StrCat("kid ", QuoteForMessage(*jws->kid),
                                                              " is not in the key set"));
    }
    // The key decides the algorithm, never the token: an HS256 header naming an RSA key's kid
    // (the key-confusion attack) stops here.
    if (key->key.alg != jws->alg) {
      return RefusalStatus(
          Refusal::kAlgNotAllowed,
          absl::StrCat("alg ", AlgName(jws->alg), " is not the alg of key ",
                       QuoteForMessage(*jws->kid), " (", AlgName(key->key.alg), ")"));
    }
    if (VerifyJwsSignature(*key, *jws, options_.signature_backend)) verified_by = key;
  } else {
    const std::vector<const VerifyKey*>& candidates = keys.KeysFor(jws->alg);
    if (candidates.empty()) {
      return RefusalStatus(Refusal::kAlgNotAllowed,
                           absl::StrCat("no key in the key set is for alg ", AlgName(jws->alg)));
    }
    for (const VerifyKey* key : candidates) {
      if (VerifyJwsSignature(*key, *jws, options_.signature_backend)) {
        verified_by = key;
        break;
      }
    }
  }
  if (verified_by == nullptr) {
    return RefusalStatus(Refusal::kBadSignature, "signature does not verify");
  }

  absl::StatusOr<Principal> principal = CheckClaims(jws->payload_b64, rules_, now_micros);
  if (!principal.ok()) return principal.status();
  principal->kid = verified_by->key.kid;
  principal->alg = verified_by->key.alg;
  return std::make_shared<const Principal>(std::move(*principal));
}

}  // namespace kv::auth

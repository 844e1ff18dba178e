#include "auth/key_set.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "auth/refusal.h"
#include "auth/strict_json.h"

namespace kv::auth {
namespace {

std::string KeyName(size_t index, const nlohmann::json& jwk) {
  std::string name = absl::StrCat("key #", index);
  if (jwk.is_object()) {
    auto kid = jwk.find("kid");
    if (kid != jwk.end() && kid->is_string()) {
      absl::StrAppend(&name, " (kid ", QuoteForMessage(kid->get<std::string>(), 64), ")");
    }
  }
  return name;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const KeySet>> KeySet::Parse(absl::string_view jwks,
                                                            const KeySetOptions& options) {
  if (jwks.size() > options.max_document_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "JWKS document of ", jwks.size(), " bytes; the limit is ", options.max_document_bytes));
  }
  absl::StatusOr<nlohmann::json> doc = ParseStrictJson(jwks);
  if (!doc.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("JWKS: ", doc.status().message()));
  }
  auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) {
    return absl::InvalidArgumentError("JWKS: no \"keys\" array");
  }
  if (keys->empty()) return absl::InvalidArgumentError("JWKS: the \"keys\" array is empty");
  if (keys->size() > options.max_keys) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWKS: ", keys->size(), " keys; the limit is ", options.max_keys));
  }

  std::shared_ptr<KeySet> set(new KeySet());
  for (size_t i = 0; i < keys->size(); ++i) {
    const nlohmann::json& jwk = (*keys)[i];
    absl::StatusOr<Key> key = KeyFromJwk(jwk, PrivateParts::kRefuse);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("JWKS: ", KeyName(i, jwk), ": ", key.status().message()));
    }
    auto vk = std::make_unique<VerifyKey>();
    vk->key = std::move(*key);
    if (vk->key.alg == Alg::kRS256 || vk->key.alg == Alg::kES256) {
      absl::StatusOr<std::string> pem = PublicKeyPem(vk->key.pkey.get());
      if (!pem.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("JWKS: ", KeyName(i, jwk), ": ", pem.status().message()));
      }
      vk->public_pem = std::move(*pem);
    }
    if (!vk->key.kid.empty()) {
      if (!set->by_kid_.emplace(vk->key.kid, vk.get()).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("JWKS: ", KeyName(i, jwk), ": duplicate kid"));
      }
    }
    set->by_alg_[static_cast<size_t>(vk->key.alg)].push_back(vk.get());
    set->keys_.push_back(std::move(vk));
  }
  return std::shared_ptr<const KeySet>(std::move(set));
}

const VerifyKey* KeySet::FindByKid(absl::string_view kid) const {
  auto it = by_kid_.find(kid);
  return it == by_kid_.end() ? nullptr : it->second;
}

const std::vector<const VerifyKey*>& KeySet::KeysFor(Alg alg) const {
  return by_alg_[static_cast<size_t>(alg)];
}

}  // namespace kv::auth

#include "server/access/gatekeeper.h"

#include "absl/strings/str_cat.h"
#include "auth/key_set.h"
#include "auth/principal.h"
#include "common/log.h"
#include "common/reserved_keys.h"

namespace kv::server {
namespace {

constexpr char kDeniedName[] = "kv_auth_denied_total";
constexpr char kDeniedHelp[] =
    "Calls refused by this node's own credential and permission checks, by reason";

}  // namespace

Gatekeeper::Gatekeeper(GatekeeperOptions options, Metrics* metrics)
    : options_(std::move(options)), verifier_(options_.verifier) {
  if (metrics == nullptr) return;
  for (size_t i = 0; i < kMissingScope; ++i) {
    denied_[i] =
        &metrics->Counter(kDeniedName, kDeniedHelp,
                          {{"reason", std::string(auth::RefusalLabel(auth::kAllRefusals[i]))}});
  }
  denied_[kMissingScope] =
      &metrics->Counter(kDeniedName, kDeniedHelp, {{"reason", "missing_scope"}});
}

void Gatekeeper::Count(size_t reason, const absl::Status& status) {
  if (reason >= kReasons) return;
  if (denied_[reason] != nullptr) denied_[reason]->Increment();
  const int64_t now = absl::ToUnixMicros(absl::Now());
  int64_t last = last_logged_micros_[reason].load(std::memory_order_relaxed);
  if (now - last < 10'000'000 || !last_logged_micros_[reason].compare_exchange_strong(last, now)) {
    unlogged_[reason].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const uint64_t more = unlogged_[reason].exchange(0);
  KV_LOG(WARN) << "refused a call (" << status.code() << "): " << status.message()
               << (more > 0 ? absl::StrCat(" (and ", more, " more of this kind in the last ",
                                           (now - last) / 1'000'000, " s)")
                            : std::string());
}

absl::Status Gatekeeper::Admit(std::optional<absl::string_view> authorization, CallContext* call) {
  if (authorization.has_value()) call->authorization = std::string(*authorization);
  if (!options_.required) return absl::OkStatus();
  auto principal = verifier_.VerifyAuthorization(authorization);
  if (!principal.ok()) {
    std::optional<auth::Refusal> why = auth::RefusalOf(principal.status());
    if (why == auth::Refusal::kNoKeySet) {
      Count(static_cast<size_t>(*why), principal.status());
      // Not the caller's fault: this node cannot check any token yet.
      return absl::UnavailableError(
          "this node has not received the cluster's key set yet and cannot check tokens");
    }
    if (why.has_value()) Count(static_cast<size_t>(*why), principal.status());
    return principal.status();
  }
  call->principal = std::move(*principal);
  return absl::OkStatus();
}

absl::Status Gatekeeper::MalformedAuthorization() {
  absl::Status refused = auth::RefusalStatus(auth::Refusal::kMalformed,
                                             "more than one authorization value in one call");
  Count(static_cast<size_t>(auth::Refusal::kMalformed), refused);
  return refused;
}

absl::Status Gatekeeper::Denied(absl::Status status) {
  Count(kMissingScope, status);
  return status;
}

absl::Status Gatekeeper::InstallKeySet(absl::string_view jwks, uint64_t version, bool replace) {
  {
    absl::MutexLock l(&mu_);
    if (!replace && version <= key_set_version_) return absl::OkStatus();
  }
  auto keys = auth::KeySet::Parse(jwks, options_.verifier.key_set);
  if (!keys.ok()) return keys.status();
  std::vector<std::string> kids;
  for (const auto& k : (*keys)->keys()) kids.push_back(k->key.kid);
  absl::MutexLock l(&mu_);
  if (!replace && version <= key_set_version_) return absl::OkStatus();
  verifier_.SetKeySet(*std::move(keys));
  key_set_loaded_ = true;
  key_set_version_ = version;
  kids_ = std::move(kids);
  return absl::OkStatus();
}

void Gatekeeper::RemoveKeySet(uint64_t version, bool replace) {
  absl::MutexLock l(&mu_);
  if (!replace && version <= key_set_version_) return;
  verifier_.SetKeySet(nullptr);
  key_set_loaded_ = false;
  key_set_version_ = version;
  kids_.clear();
}

ClusterDataObserver Gatekeeper::Observer() {
  return [this](const kvstore::v1::Change& change, bool restart) {
    if (change.key() != kKeySetKey) return;
    switch (change.kind()) {
      case kvstore::v1::Change::KIND_PUT:
        if (absl::Status s = InstallKeySet(change.value(), change.version(), restart); !s.ok()) {
          KV_LOG(ERROR) << "the key set of version " << change.version()
                        << " is not usable; keeping the current one: " << s.message();
        } else {
          KV_LOG(INFO) << "key set of version " << change.version() << " installed";
        }
        return;
      case kvstore::v1::Change::KIND_DELETE:
        RemoveKeySet(change.version(), restart);
        return;
      default:
        // Reserved keys are never sent as invalidations (replication/publisher.cc).
        KV_LOG(WARN) << "the key set arrived as an invalidation; ignored";
        return;
    }
  };
}

bool Gatekeeper::has_key_set() const {
  absl::MutexLock l(&mu_);
  return key_set_loaded_;
}

uint64_t Gatekeeper::key_set_version() const {
  absl::MutexLock l(&mu_);
  return key_set_version_;
}

bool Gatekeeper::Ready(std::string* why_not) const {
  if (!options_.required || has_key_set()) return true;
  *why_not = "tokens are required and no key set has been received yet";
  return false;
}

void Gatekeeper::FillStatus(kvstore::v1::AuthStatus* status) const {
  status->set_mode(options_.required ? "required" : "off");
  {
    absl::MutexLock l(&mu_);
    status->set_key_set_loaded(key_set_loaded_);
    status->set_key_set_version(key_set_version_);
    for (const auto& kid : kids_) status->add_kids(kid);
  }
  auth::TokenCacheStats cache = verifier_.cache_stats();
  status->set_cache_hits(cache.hits);
  status->set_cache_misses(cache.misses);
  status->set_cache_entries(cache.size);
}

}  // namespace kv::server

#include "common/tls/client_cert_policy.h"

#include "absl/strings/str_cat.h"

namespace kv::tls {

absl::StatusOr<ClientCertPolicy> ParseClientCertPolicy(absl::string_view text) {
  if (text == "none") return ClientCertPolicy::kNone;
  if (text == "optional") return ClientCertPolicy::kOptional;
  if (text == "require") return ClientCertPolicy::kRequire;
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not one of require, optional, none"));
}

const char* ClientCertPolicyName(ClientCertPolicy policy) {
  switch (policy) {
    case ClientCertPolicy::kNone:
      return "none";
    case ClientCertPolicy::kOptional:
      return "optional";
    case ClientCertPolicy::kRequire:
      return "require";
  }
  return "none";
}

}  // namespace kv::tls

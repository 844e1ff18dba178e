#pragma once
// Whether a TLS listener asks its peers for a client certificate (--tls-client-certs).

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kv::tls {

enum class ClientCertPolicy {
  // Never asks; any client may connect.
  kNone,
  // Asks; a certificate presented must chain to the CA, but a client without one may connect.
  kOptional,
  // Asks and refuses the handshake unless the client presents a certificate chaining to the CA.
  kRequire,
};

// "none", "optional", "require"; anything else is InvalidArgument.
absl::StatusOr<ClientCertPolicy> ParseClientCertPolicy(absl::string_view text);
const char* ClientCertPolicyName(ClientCertPolicy policy);

}  // namespace kv::tls

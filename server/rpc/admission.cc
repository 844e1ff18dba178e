#include "server/rpc/admission.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "auth/principal.h"
#include "server/rpc/call_tracker.h"

namespace kv::server {

absl::Status AdmitCall(grpc::ServerContextBase* context, Gatekeeper* gate, CallContext* call) {
  *call = MakeCallContext(context);
  const auto& metadata = context->client_metadata();
  if (auto hops = metadata.find(kHopsMetadataKey); hops != metadata.end()) {
    int n = 0;
    if (!absl::SimpleAtoi(absl::string_view(hops->second.data(), hops->second.size()), &n) ||
        n < 0 || n > kMaxForwardingHops) {
      n = kMaxForwardingHops;  // nonsense is treated as "too far": it is not forwarded again
    }
    call->hops = n;
  }
  if (gate == nullptr) return absl::OkStatus();
  auto [first, last] = metadata.equal_range("authorization");
  std::optional<absl::string_view> authorization;
  for (auto it = first; it != last; ++it) {
    // Two credentials in one call: which one was checked would be a guess.
    if (authorization.has_value()) return gate->MalformedAuthorization();
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  return gate->Admit(authorization, call);
}

std::string CertificateIdentity(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  std::vector<grpc::string_ref> subject = auth->FindPropertyValues("x509_subject");
  if (!subject.empty()) return std::string(subject.front().data(), subject.front().size());
  std::vector<grpc::string_ref> names = auth->GetPeerIdentity();
  std::vector<std::string> out;
  for (const auto& n : names) out.emplace_back(n.data(), n.size());
  return absl::StrJoin(out, ",");
}

absl::Status CheckAdmin(const CallContext& call, Gatekeeper* gate) {
  if (gate == nullptr || !gate->required()) return absl::OkStatus();
  absl::Status s = call.principal == nullptr
                       ? absl::PermissionDeniedError("missing scope admin")
                       : call.principal->permissions.Check(auth::Action::kAdmin);
  return s.ok() ? s : gate->Denied(std::move(s));
}

}  // namespace kv::server

#include "auth/refusal.h"

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace kv::auth {
namespace {
constexpr char kPayloadUrl[] = "type.kvstore/kv.auth.Refusal";
}  // namespace

absl::string_view RefusalLabel(Refusal refusal) {
  switch (refusal) {
    case Refusal::kMissing:
      return "missing";
    case Refusal::kMalformed:
      return "malformed";
    case Refusal::kBadSignature:
      return "bad_signature";
    case Refusal::kAlgNotAllowed:
      return "alg_not_allowed";
    case Refusal::kExpired:
      return "expired";
    case Refusal::kNotYetValid:
      return "not_yet_valid";
    case Refusal::kWrongIssuer:
      return "wrong_issuer";
    case Refusal::kWrongAudience:
      return "wrong_audience";
    case Refusal::kUnknownKid:
      return "unknown_kid";
    case Refusal::kNoKeySet:
      return "no_key_set";
  }
  return "malformed";
}

absl::Status RefusalStatus(Refusal refusal, absl::string_view message) {
  absl::Status status =
      absl::UnauthenticatedError(absl::StrCat(RefusalLabel(refusal), ": ", message));
  status.SetPayload(kPayloadUrl, absl::Cord(RefusalLabel(refusal)));
  return status;
}

std::optional<Refusal> RefusalOf(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnauthenticated) return std::nullopt;
  auto payload = status.GetPayload(kPayloadUrl);  // absl::optional here, not std::
  if (!payload.has_value()) return std::nullopt;
  for (Refusal r : kAllRefusals) {
    if (*payload == RefusalLabel(r)) return r;
  }
  return std::nullopt;
}

std::string QuoteForMessage(absl::string_view text, size_t max_bytes) {
  bool cut = text.size() > max_bytes;
  std::string out = absl::StrCat("\"", absl::CHexEscape(text.substr(0, max_bytes)), "\"");
  if (cut) out += "...";
  return out;
}

}  // namespace kv::auth

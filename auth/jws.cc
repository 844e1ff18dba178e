#include "auth/jws.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "auth/base64url.h"
#include "auth/refusal.h"
#include "auth/strict_json.h"

namespace kv::auth {
namespace {

absl::Status Malformed(absl::string_view why) { return RefusalStatus(Refusal::kMalformed, why); }

}  // namespace

absl::StatusOr<Jws> ParseJws(absl::string_view token) {
  size_t dots = static_cast<size_t>(std::count(token.begin(), token.end(), '.'));
  if (dots != 2) {
    if (dots == 4) return Malformed("JWE tokens (5 segments) are not accepted");
    return Malformed(absl::StrCat("token has ", dots + 1, " segments; a JWS has 3"));
  }
  size_t first = token.find('.');
  size_t second = token.find('.', first + 1);
  absl::string_view header_b64 = token.substr(0, first);
  absl::string_view payload_b64 = token.substr(first + 1, second - first - 1);
  absl::string_view signature_b64 = token.substr(second + 1);
  if (header_b64.empty() || payload_b64.empty()) return Malformed("empty header or payload");
  if (!IsBase64UrlAlphabet(header_b64) || !IsBase64UrlAlphabet(payload_b64) ||
      !IsBase64UrlAlphabet(signature_b64)) {
    return Malformed("token has characters outside the base64url alphabet");
  }

  absl::StatusOr<std::string> header_bytes = Base64UrlDecode(header_b64);
  if (!header_bytes.ok()) {
    return Malformed(absl::StrCat("header: ", header_bytes.status().message()));
  }
  StrictJsonOptions json_options;
  json_options.max_depth = 4;
  absl::StatusOr<nlohmann::json> header = ParseStrictJson(*header_bytes, json_options);
  if (!header.ok()) return Malformed(absl::StrCat("header: ", header.status().message()));

  auto alg_it = header->find("alg");
  if (alg_it == header->end() || !alg_it->is_string()) {
    return Malformed("header has no string \"alg\"");
  }
  const std::string& alg_name = alg_it->get_ref<const std::string&>();
  std::optional<Alg> alg = AlgFromName(alg_name);
  if (!alg.has_value()) {
    return RefusalStatus(Refusal::kAlgNotAllowed,
                         absl::StrCat("alg ", QuoteForMessage(alg_name),
                                      " is not allowed (accepted: RS256, ES256, EdDSA, HS256)"));
  }
  for (const char* member : {"crit", "b64", "zip", "enc"}) {
    if (header->contains(member)) {
      return Malformed(absl::StrCat("header member \"", member, "\" is not supported"));
    }
  }
  if (auto typ = header->find("typ"); typ != header->end()) {
    if (!typ->is_string()) return Malformed("header \"typ\" is not a string");
    std::string t = absl::AsciiStrToLower(typ->get_ref<const std::string&>());
    if (t != "jwt" && t != "at+jwt" && t != "application/at+jwt") {
      return Malformed(absl::StrCat("header \"typ\" ", QuoteForMessage(t), " is not a JWT"));
    }
  }

  // After the alg check, so that "alg":"none" with its empty signature says alg_not_allowed.
  if (signature_b64.empty()) return Malformed("unsigned token (empty signature)");

  Jws jws;
  if (auto kid = header->find("kid"); kid != header->end()) {
    if (!kid->is_string() || kid->get_ref<const std::string&>().empty()) {
      return Malformed("header \"kid\" is not a non-empty string");
    }
    jws.kid = kid->get<std::string>();
  }
  absl::StatusOr<std::string> signature = Base64UrlDecode(signature_b64);
  if (!signature.ok()) {
    return Malformed(absl::StrCat("signature: ", signature.status().message()));
  }
  // The payload must decode too, though its JSON is read only after the signature check.
  if (payload_b64.size() % 4 == 1) return Malformed("payload: impossible base64url length");

  jws.token = token;
  jws.signing_input = token.substr(0, second);
  jws.payload_b64 = payload_b64;
  jws.signature = std::move(*signature);
  jws.alg = *alg;
  return jws;
}

}  // namespace kv::auth

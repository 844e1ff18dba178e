#include "auth/alg.h"

namespace kv::auth {

absl::string_view AlgName(Alg alg) {
  switch (alg) {
    case Alg::kRS256:
      return "RS256";
    case Alg::kES256:
      return "ES256";
    case Alg::kEdDSA:
      return "EdDSA";
    case Alg::kHS256:
      return "HS256";
  }
  return "";
}

std::optional<Alg> AlgFromName(absl::string_view name) {
  for (Alg alg : {Alg::kRS256, Alg::kES256, Alg::kEdDSA, Alg::kHS256}) {
    if (name == AlgName(alg)) return alg;
  }
  return std::nullopt;
}

}  // namespace kv::auth

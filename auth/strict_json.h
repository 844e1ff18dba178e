#pragma once
// A strict JSON reader for attacker-supplied documents (JWS headers and claims, JWKS files).
// It refuses what the lenient defaults of most JSON libraries let through and what lets two
// parsers read one document differently: duplicate member names (nlohmann::json keeps the
// last one), nesting deeper than a bound, trailing bytes, and invalid UTF-8.
//
// Stateless; safe from any thread. Never throws.

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kv::auth {

struct StrictJsonOptions {
  // Deepest nesting of objects and arrays accepted (the top-level value is depth 1).
  int max_depth = 16;
  // The top-level value must be an object.
  bool require_object = true;
};

// Parses `text`; INVALID_ARGUMENT with a short reason (never the text) when it is refused.
absl::StatusOr<nlohmann::json> ParseStrictJson(absl::string_view text,
                                               const StrictJsonOptions& options = {});

}  // namespace kv::auth

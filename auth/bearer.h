#pragma once
// Takes the token out of an `authorization: Bearer <token>` value (RFC 6750 section 2.1; the
// scheme name is case-insensitive, one or more spaces follow it).

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kv::auth {

// The token, a view into `value`. RefusalStatus(kMissing) when `value` is absent or empty, or
// not a Bearer credential; kMalformed when the token holds whitespace or control bytes.
absl::StatusOr<absl::string_view> ExtractBearerToken(std::optional<absl::string_view> value);

}  // namespace kv::auth

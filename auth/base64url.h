#pragma once
// Strict base64url (RFC 4648 section 5) as JWS compact serialization uses it (RFC 7515 section 2):
// the URL-safe alphabet, no padding, no whitespace, and canonical trailing bits. Exactly one
// encoding decodes to a given byte string, so two parsers can never disagree about the bytes a
// signature covers.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kv::auth {

// Encodes without padding.
std::string Base64UrlEncode(absl::string_view bytes);

// Decodes strictly. Refuses (INVALID_ARGUMENT) any character outside [A-Za-z0-9_-] (so '=',
// '+', '/', whitespace and NUL), a length of 4k+1, and non-zero unused bits in the last
// character (e.g. "QR" where "QQ" is canonical).
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text);

// True when every character of `text` is in the base64url alphabet (an empty text is true).
bool IsBase64UrlAlphabet(absl::string_view text);

}  // namespace kv::auth

#pragma once
// Percent-encoding and query strings for the HTTP gateway. Keys are arbitrary bytes, so the
// decoder is byte-exact: "%2F" is '/', "%00" is a zero byte, and '+' stays '+' in paths.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kv::server {

// Appends the percent-decoding of `in` to `*out`. A '%' not followed by two hex digits is an
// error naming its offset; `*out` is then unspecified. When `plus_is_space`, '+' decodes to ' '
// (the form encoding used in query strings).
absl::Status PercentDecode(absl::string_view in, std::string* out, bool plus_is_space = false);

// Appends `in` with every byte outside the RFC 3986 unreserved set (A-Z a-z 0-9 - . _ ~)
// written as %XX (upper-case hex). Safe for a path segment, a query value and a header value.
void PercentEncode(absl::string_view in, std::string* out);
std::string PercentEncode(absl::string_view in);

// One "name=value" pair of a query string, both decoded ('+' is a space).
struct QueryParam {
  std::string name;
  std::string value;
  // False for a bare "name" without '='.
  bool has_value = false;
};

// Splits "a=1&b=x%20y&c" into decoded pairs, in order, skipping empty segments ("a=1&&b=2").
// Fails on a malformed escape, naming the parameter.
absl::Status ParseQuery(absl::string_view query, std::vector<QueryParam>* params);

}  // namespace kv::server

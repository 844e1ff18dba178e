#include "server/http/request_framing.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace kv::server {
namespace http = boost::beast::http;

namespace {

constexpr size_t kMaxQuoted = 64;

absl::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

// The client's text for an error message: at most kMaxQuoted bytes.
std::string Quote(absl::string_view text) {
  if (text.size() <= kMaxQuoted) return absl::StrCat("'", text, "'");
  return absl::StrCat("'", text.substr(0, kMaxQuoted), "...'");
}

// Optional whitespace of RFC 9110: spaces and horizontal tabs only.
absl::string_view TrimOws(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The elements of every `field` line, in order (a list may be split over several lines; empty
// elements are allowed by the list syntax and skipped).
std::vector<absl::string_view> ListElements(const http::fields& fields, http::field field) {
  std::vector<absl::string_view> elements;
  auto range = fields.equal_range(field);
  for (auto it = range.first; it != range.second; ++it) {
    for (absl::string_view element : absl::StrSplit(View(it->value()), ',')) {
      element = TrimOws(element);
      if (!element.empty()) elements.push_back(element);
    }
  }
  return elements;
}

absl::Status CheckContentLength(const http::fields& fields) {
  std::optional<uint64_t> length;
  auto range = fields.equal_range(http::field::content_length);
  for (auto it = range.first; it != range.second; ++it) {
    const absl::string_view value = View(it->value());
    for (absl::string_view element : absl::StrSplit(value, ',')) {
      element = TrimOws(element);
      uint64_t n = 0;
      if (element.empty() || !absl::c_all_of(element, absl::ascii_isdigit) ||
          !absl::SimpleAtoi(element, &n)) {
        return absl::InvalidArgumentError(absl::StrCat("malformed Content-Length ", Quote(value)));
      }
      if (length.has_value() && *length != n) {
        return absl::InvalidArgumentError(
            absl::StrCat("conflicting Content-Length values ", *length, " and ", n));
      }
      length = n;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRequestFraming(const http::fields& fields, unsigned version) {
  if (fields.find(http::field::transfer_encoding) == fields.end()) {
    return CheckContentLength(fields);
  }
  if (version < 11) {
    return absl::InvalidArgumentError("Transfer-Encoding in an HTTP/1.0 request");
  }
  if (fields.find(http::field::content_length) != fields.end()) {
    return absl::InvalidArgumentError(
        "both Transfer-Encoding and Content-Length (ambiguous framing)");
  }
  const std::vector<absl::string_view> codings =
      ListElements(fields, http::field::transfer_encoding);
  if (codings.empty()) return absl::InvalidArgumentError("empty Transfer-Encoding");
  if (!absl::EqualsIgnoreCase(codings.back(), "chunked")) {
    return absl::InvalidArgumentError(
        absl::StrCat("the final transfer coding is ", Quote(codings.back()), ", not chunked"));
  }
  if (codings.size() == 1) return absl::OkStatus();
  // Codings before the final chunked: the server decodes none of them.
  if (absl::EqualsIgnoreCase(codings.front(), "chunked")) {
    return absl::InvalidArgumentError("chunked transfer coding applied more than once");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported transfer coding ", Quote(codings.front()), " (only chunked)"));
}

}  // namespace kv::server

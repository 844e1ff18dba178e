#include "tests/faultproxy/address.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kv::testing {

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("address '", text, "' is not HOST:PORT"));
  }
  HostPort out;
  absl::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", text, "': write IPv6 hosts in brackets, [::1]:PORT"));
  }
  out.host = host.empty() ? "127.0.0.1" : std::string(host);
  uint32_t port = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("address '", text, "': bad port"));
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

std::string FormatHostPort(absl::string_view host, uint16_t port) {
  if (host.find(':') != absl::string_view::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

}  // namespace kv::testing

#pragma once
// HOST:PORT strings for the fault proxy's flags and reports.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kv::testing {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Accepts "host:port", "[v6addr]:port" and ":port" (host 127.0.0.1). Port 0 is allowed (a
// listener picks a free port).
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text);

// "127.0.0.1:8080", "[::1]:8080".
std::string FormatHostPort(absl::string_view host, uint16_t port);

}  // namespace kv::testing

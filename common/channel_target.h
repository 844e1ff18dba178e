#pragma once
// The gRPC target for an address as users give it: "HOST:PORT", or several, comma-separated
// ("10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000": the central nodes of a cluster with standbys,
// docs/ha.md). A list becomes one channel over all of them ("ipv4:" / "ipv6:" with pick-first),
// so a call goes to the first that answers and moves on when it dies: any central node serves
// committed data and forwards writes to its leader. Lists take IP addresses (gRPC resolves no
// names in them); one DNS name with several records serves the same purpose.
//
// Pure function; thread-safe.

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kv {

inline std::string ChannelTarget(absl::string_view addresses) {
  if (!absl::StrContains(addresses, ',')) return std::string(addresses);
  return absl::StrCat(absl::StartsWith(addresses, "[") ? "ipv6:" : "ipv4:", addresses);
}

}  // namespace kv

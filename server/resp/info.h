#pragma once
// The text of INFO: Redis's "# Section\r\nfield:value\r\n" format, built from the node's Status
// and the RESP server's counters. Redis-compatible fields keep Redis's names (role,
// connected_clients, db0:keys=...); what Redis has no field for is prefixed kv_ (kv_staleness_
// seconds, kv_applied_version).

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "kvstore/v1/admin.pb.h"
#include "server/resp/server_state.h"

namespace kv::server::resp {

// Server facts INFO reports beside the node's Status.
struct InfoFacts {
  RespServerStats stats;
  int max_connections = 0;
  int port = 0;
  int64_t uptime_seconds = 0;
};

// Sections known to INFO, in output order.
inline constexpr absl::string_view kInfoSections[] = {"server", "clients", "stats", "replication",
                                                      "keyspace"};

// INFO's text for `sections` (lower or upper case; none, "all", "everything" or "default" =
// every section; unknown names are skipped, as Redis does).
std::string InfoText(const kvstore::v1::StatusResponse& status, const InfoFacts& facts,
                     absl::Span<const absl::string_view> sections);

}  // namespace kv::server::resp

#include "server/resp/info.h"

#include <unistd.h>

#include <cstdint>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/build_info.h"
#include "server/http/gateway.h"

namespace kv::server::resp {
namespace {

constexpr int64_t kNeverFresh = std::numeric_limits<int64_t>::max();

void Field(std::string* out, absl::string_view name, const absl::AlphaNum& value) {
  absl::StrAppend(out, name, ":", value, "\r\n");
}

// "127.0.0.1:7000" -> host, port.
void SplitHostPort(absl::string_view address, std::string* host, std::string* port) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    *host = std::string(address);
    port->clear();
    return;
  }
  *host = std::string(address.substr(0, colon));
  *port = std::string(address.substr(colon + 1));
}

void Server(const kvstore::v1::StatusResponse& status, const InfoFacts& facts, std::string* out) {
  out->append("# Server\r\n");
  Field(out, "redis_version", "7.0.0");
  Field(out, "kv_version", kBuildVersion);
  Field(out, "redis_mode", "standalone");
  Field(out, "os", "Linux");
  Field(out, "arch_bits", 64);
  Field(out, "process_id", static_cast<int64_t>(getpid()));
  Field(out, "tcp_port", facts.port);
  Field(out, "uptime_in_seconds", status.uptime_seconds());
  Field(out, "uptime_in_days", status.uptime_seconds() / 86400);
  Field(out, "kv_node_id", status.node_id());
  Field(out, "kv_cluster_id", status.cluster_id());
  Field(out, "kv_resp_uptime_in_seconds", facts.uptime_seconds);
}

void Clients(const InfoFacts& facts, std::string* out) {
  out->append("# Clients\r\n");
  Field(out, "connected_clients", facts.stats.connections_open);
  Field(out, "maxclients", facts.max_connections);
}

void Stats(const InfoFacts& facts, std::string* out) {
  const RespServerStats& s = facts.stats;
  out->append("# Stats\r\n");
  Field(out, "total_connections_received", s.connections_accepted);
  Field(out, "total_commands_processed", s.commands);
  Field(out, "rejected_connections", s.connections_refused);
  Field(out, "kv_accept_errors", s.accept_errors);
  Field(out, "kv_protocol_errors", s.protocol_errors);
  Field(out, "kv_output_limit_closes", s.output_limit_closes);
  Field(out, "kv_idle_closes", s.idle_closes);
}

void Replication(const kvstore::v1::StatusResponse& status, std::string* out) {
  const bool central = status.role() == "central";
  const kvstore::v1::ReplicationStatus& r = status.replication();
  out->append("# Replication\r\n");
  Field(out, "role", central ? "master" : "slave");
  Field(out, "kv_role", status.role());
  if (!central) Field(out, "kv_mode", status.mode());
  Field(out, "kv_applied_version", status.head_version());
  Field(out, "kv_ready", status.ready() ? 1 : 0);
  if (central) {
    Field(out, "kv_staleness_seconds", "0.000000");
  } else {
    const int64_t staleness = r.staleness_micros();
    Field(out, "kv_staleness_seconds",
          staleness == kNeverFresh ? std::string("-1") : FormatStalenessSeconds(staleness));
    Field(out, "kv_synced", staleness == kNeverFresh ? 0 : 1);
    Field(out, "kv_max_staleness_seconds", FormatStalenessSeconds(r.max_staleness_micros()));
    Field(out, "kv_stale", staleness > r.max_staleness_micros() ? 1 : 0);
    std::string host, port;
    SplitHostPort(r.upstream(), &host, &port);
    Field(out, "master_host", host);
    Field(out, "master_port", port);
    Field(out, "master_link_status", r.connected() ? "up" : "down");
    Field(out, "kv_replication_state", r.state());
    if (!r.last_error().empty()) Field(out, "kv_replication_last_error", r.last_error());
  }
  Field(out, "connected_slaves", status.downstreams_size());
  for (int i = 0; i < status.downstreams_size(); ++i) {
    const kvstore::v1::DownstreamStatus& d = status.downstreams(i);
    std::string host, port;
    SplitHostPort(d.address(), &host, &port);
    Field(out, absl::StrCat("slave", i),
          absl::StrCat("ip=", host, ",port=", port, ",state=online,offset=", d.acked_version(),
                       ",lag=", d.lag_micros() / 1000000, ",kv_node_id=", d.node_id(),
                       ",kv_mode=", d.mode(), ",kv_lag_versions=", d.lag_versions()));
  }
  Field(out, "master_repl_offset", status.head_version());
}

void Keyspace(const kvstore::v1::StatusResponse& status, std::string* out) {
  out->append("# Keyspace\r\n");
  if (status.key_count() > 0) {
    Field(out, "db0", absl::StrCat("keys=", status.key_count(), ",expires=0,avg_ttl=0"));
  }
}

}  // namespace

std::string InfoText(const kvstore::v1::StatusResponse& status, const InfoFacts& facts,
                     absl::Span<const absl::string_view> sections) {
  bool want[std::size(kInfoSections)] = {};
  bool all = sections.empty();
  for (const absl::string_view s : sections) {
    if (absl::EqualsIgnoreCase(s, "all") || absl::EqualsIgnoreCase(s, "everything") ||
        absl::EqualsIgnoreCase(s, "default")) {
      all = true;
    }
    for (size_t i = 0; i < std::size(kInfoSections); ++i) {
      if (absl::EqualsIgnoreCase(s, kInfoSections[i])) want[i] = true;
    }
  }
  std::string out;
  for (size_t i = 0; i < std::size(kInfoSections); ++i) {
    if (!all && !want[i]) continue;
    if (!out.empty()) out.append("\r\n");
    switch (i) {
      case 0:
        Server(status, facts, &out);
        break;
      case 1:
        Clients(facts, &out);
        break;
      case 2:
        Stats(facts, &out);
        break;
      case 3:
        Replication(status, &out);
        break;
      case 4:
        Keyspace(status, &out);
        break;
    }
  }
  return out;
}

}  // namespace kv::server::resp

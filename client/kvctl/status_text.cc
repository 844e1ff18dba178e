// `kvctl status` output: the text form for people and the JSON form for scripts.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/kvctl/output.h"
#include "common/units.h"

namespace kv::kvctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using nlohmann::json;

std::string Seconds(int64_t s) { return absl::FormatDuration(absl::Seconds(s)); }

std::string YesNo(bool b) { return b ? "yes" : "no"; }

// Rows of cells, padded per column, two spaces apart.
std::string Table(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

json FieldValue(const Message& m, const Reflection* r, const FieldDescriptor* f, int index);

// Every field, set or not, with numbers as JSON numbers (proto3 JSON would quote 64-bit ints).
json MessageJson(const Message& m) {
  json obj = json::object();
  const Reflection* r = m.GetReflection();
  const auto* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) {
      json arr = json::array();
      for (int k = 0; k < r->FieldSize(m, f); ++k) arr.push_back(FieldValue(m, r, f, k));
      obj[f->name()] = std::move(arr);
    } else {
      obj[f->name()] = FieldValue(m, r, f, -1);
    }
  }
  return obj;
}

json FieldValue(const Message& m, const Reflection* r, const FieldDescriptor* f, int k) {
  const bool rep = k >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return rep ? r->GetRepeatedInt32(m, f, k) : r->GetInt32(m, f);
    case FieldDescriptor::CPPTYPE_INT64:
      return rep ? r->GetRepeatedInt64(m, f, k) : r->GetInt64(m, f);
    case FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r->GetRepeatedUInt32(m, f, k) : r->GetUInt32(m, f);
    case FieldDescriptor::CPPTYPE_UINT64:
      return rep ? r->GetRepeatedUInt64(m, f, k) : r->GetUInt64(m, f);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r->GetRepeatedDouble(m, f, k) : r->GetDouble(m, f);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return rep ? r->GetRepeatedFloat(m, f, k) : r->GetFloat(m, f);
    case FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r->GetRepeatedBool(m, f, k) : r->GetBool(m, f);
    case FieldDescriptor::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(m, f, k) : r->GetEnum(m, f))->name();
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = rep ? r->GetRepeatedString(m, f, k) : r->GetString(m, f);
      if (IsValidUtf8(s)) return s;
      json b = json::object();
      SetBytes(b, "bytes", s);
      return b;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return MessageJson(rep ? r->GetRepeatedMessage(m, f, k) : r->GetMessage(m, f));
  }
  return nullptr;
}

void AppendReplication(const kvstore::v1::ReplicationStatus& r, std::string* out) {
  absl::StrAppend(out, "\nupstream:         ", r.upstream(), "\n");
  absl::StrAppend(out, "  connection:     ", r.connected() ? "connected" : "disconnected", ", ",
                  r.state().empty() ? "-" : r.state(), "\n");
  // INT64_MAX is how a node says it was never fresh (no answer from its upstream yet).
  absl::StrAppend(out, "  staleness:      ",
                  r.staleness_micros() == std::numeric_limits<int64_t>::max()
                      ? std::string("never fresh yet")
                      : FormatMicros(r.staleness_micros()));
  if (r.max_staleness_micros() > 0) {
    absl::StrAppend(out, " (bound ", FormatMicros(r.max_staleness_micros()), ")");
  }
  absl::StrAppend(out, "\n");
  absl::StrAppend(out, "  applied:        ", r.changes_applied(), " changes in ",
                  r.batches_applied(), " batches\n");
  absl::StrAppend(out, "  history:        ", r.snapshots(), " snapshots, ", r.resumes(),
                  " resumes, ", r.resets(), " resets, ", r.reconnects(), " reconnects\n");
  if (r.pending_value_fetches() > 0) {
    absl::StrAppend(out, "  pending values: ", r.pending_value_fetches(), "\n");
  }
  if (!r.last_error().empty()) absl::StrAppend(out, "  last error:     ", r.last_error(), "\n");
}

void AppendDownstreams(const kvstore::v1::StatusResponse& s, std::string* out) {
  absl::StrAppend(out, "\ndownstreams:      ", s.downstreams_size(), "\n");
  if (s.downstreams_size() == 0) return;
  std::vector<std::vector<std::string>> rows = {
      {"NODE", "ADDRESS", "MODE", "ACKED", "LAG(VERSIONS)", "LAG(TIME)", "CONNECTED", "IDENTITY"}};
  for (const auto& d : s.downstreams()) {
    rows.push_back({d.node_id(), d.address().empty() ? d.peer() : d.address(), d.mode(),
                    absl::StrCat(d.acked_version()), absl::StrCat(d.lag_versions()),
                    FormatMicros(d.lag_micros()), Seconds(d.connected_seconds()),
                    d.identity().empty() ? "-" : d.identity()});
  }
  absl::StrAppend(out, Table(rows, "  "));
}

void AppendCache(const kvstore::v1::CacheStatus& c, std::string* out) {
  const double used_pct =
      c.bytes_limit() > 0 ? 100.0 * static_cast<double>(c.bytes_used()) / c.bytes_limit() : 0;
  absl::StrAppend(out, "\ncache:\n");
  absl::StrAppend(out, absl::StrFormat("  hits %d, misses %d, hit ratio %.1f%%\n", c.hits(),
                                       c.misses(), 100.0 * c.hit_ratio()));
  absl::StrAppend(out, "  promotions ", c.promotions(), ", evictions ", c.evictions(),
                  ", rejections ", c.rejections(), "\n");
  absl::StrAppend(out, "  bytes used ", FormatByteSize(c.bytes_used()), " of ",
                  FormatByteSize(c.bytes_limit()), absl::StrFormat(" (%.1f%%)", used_pct),
                  ", entries ", c.entries(), " (", c.negative_entries(), " not-found)\n");
  absl::StrAppend(out, "  pending fetches ", c.pending_fetches(), ", coalesced waits ",
                  c.coalesced_waits(), ", upstream fetches ", c.upstream_fetches(), "\n");
}

void AppendTls(const kvstore::v1::TlsStatus& t, std::string* out) {
  const auto time = [](int64_t unix_seconds) {
    return unix_seconds == 0
               ? std::string("never")
               : absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                                  absl::UTCTimeZone());
  };
  absl::StrAppend(out, "\ntls:              ",
                  t.serving() ? "serving" : "upstream only (no certificate)", "\n");
  if (t.serving()) {
    absl::StrAppend(out, "  certificate:    ", t.cert_subject(), ", serial ", t.cert_serial(),
                    "\n");
    absl::StrAppend(out, "  valid:          ", time(t.cert_not_before()), " to ",
                    time(t.cert_not_after()), "\n");
    absl::StrAppend(out, "  client certs:   grpc ", t.grpc_client_certs(), ", http ",
                    t.http_client_certs(), "\n");
  }
  absl::StrAppend(out, "  loaded:         ", time(t.last_reload()), " (", t.reloads(), " reloads, ",
                  t.reload_failures(), " refused)\n");
  if (!t.last_reload_error().empty()) {
    absl::StrAppend(out, "  last refusal:   ", time(t.last_reload_error_time()),
                    t.reload_failing() ? " (current) " : " ", t.last_reload_error(), "\n");
  }
}

void AppendAuth(const kvstore::v1::AuthStatus& a, std::string* out) {
  absl::StrAppend(out, "\nauth:             ", a.mode().empty() ? "off" : a.mode(), "\n");
  if (a.mode() != "required") return;
  if (!a.key_set_loaded()) {
    absl::StrAppend(out, "  key set:        none yet (every call is refused UNAVAILABLE)\n");
  } else {
    absl::StrAppend(out, "  key set:        version ", a.key_set_version(), ", kids ",
                    a.kids().empty() ? "-" : absl::StrJoin(a.kids(), " "), "\n");
  }
  absl::StrAppend(out, "  token cache:    ", a.cache_entries(), " entries, ", a.cache_hits(),
                  " hits, ", a.cache_misses(), " misses\n");
}

}  // namespace

std::string FormatStatusText(const kvstore::v1::StatusResponse& s) {
  std::string out;
  std::string role = s.role().empty() ? "?" : s.role();
  if (!s.mode().empty()) absl::StrAppend(&role, " (", s.mode(), ")");
  if (!s.ha_role().empty()) absl::StrAppend(&role, " (", s.ha_role(), ")");
  absl::StrAppend(&out, "role:             ", role, "\n");
  if (!s.ha_role().empty()) {
    // Central nodes with standbys (docs/ha.md).
    absl::StrAppend(&out, "epoch:            ", s.ha_epoch(), "\n");
    absl::StrAppend(
        &out, "leader:           ", s.ha_leader().empty() ? "(none known)" : s.ha_leader(), "\n");
    if (s.ha_role() == "leader") {
      absl::StrAppend(&out, "in sync:          ",
                      s.ha_in_sync().empty() ? "(none)" : absl::StrJoin(s.ha_in_sync(), ", "),
                      "\n");
    }
  }
  absl::StrAppend(&out, "node id:          ", s.node_id(), "\n");
  if (!s.cluster_id().empty()) absl::StrAppend(&out, "cluster id:       ", s.cluster_id(), "\n");
  if (!s.history_id().empty()) absl::StrAppend(&out, "history id:       ", s.history_id(), "\n");
  absl::StrAppend(&out, "build:            ", s.build_version(), "\n");
  if (!s.listen().empty()) {
    absl::StrAppend(&out, "listen:           ", s.listen());
    if (!s.http_listen().empty()) absl::StrAppend(&out, " (http ", s.http_listen(), ")");
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, "uptime:           ", Seconds(s.uptime_seconds()), "\n");
  absl::StrAppend(&out, "ready:            ", YesNo(s.ready()), "\n");
  absl::StrAppend(&out, s.role() == "edge" ? "applied version:  " : "head version:     ",
                  s.head_version(), "\n");
  absl::StrAppend(&out, "oldest log:       ", s.oldest_log_version(), " (", s.log_entries(),
                  " entries");
  if (s.log_retention_entries() > 0 || s.log_retention_seconds() > 0) {
    absl::StrAppend(&out, "; keeps ", s.log_retention_entries(), " entries / ",
                    Seconds(s.log_retention_seconds()));
  }
  absl::StrAppend(&out, ")\n");
  absl::StrAppend(&out, "keys:             ", s.key_count(), "\n");
  absl::StrAppend(&out, "data size:        ", FormatByteSize(s.approximate_data_bytes()), "\n");
  if (s.checksum_version() > 0 || s.checksum() != 0) {
    const bool central = s.role() != "edge";
    absl::StrAppend(&out, "checksum:         ", absl::StrFormat("%016x", s.checksum()),
                    " at version ", s.checksum_version());
    if (!central) {
      absl::StrAppend(
          &out, !s.central_checksum_known() ? " (central's not known yet)"
                : s.central_checksum() == s.checksum()
                    ? " (matches the central node's)"
                    : absl::StrFormat(" (central node's %016x: MISMATCH)", s.central_checksum()));
    }
    absl::StrAppend(&out, "\n");
    if (s.checksum_mismatches() > 0) {
      absl::StrAppend(&out, "  mismatches:     ", s.checksum_mismatches(),
                      ", last: ", s.checksum_mismatch(), "\n");
    }
  }
  if (s.disk_free_bytes() > 0 || s.min_free_disk_bytes() > 0) {
    absl::StrAppend(&out, "disk free:        ", FormatByteSize(s.disk_free_bytes()), " (keeps ",
                    FormatByteSize(s.min_free_disk_bytes()), " free",
                    s.disk_reserve_exceeded() ? "; BELOW THE RESERVE, writes refused" : "",
                    s.disk_write_refusals() > 0
                        ? absl::StrCat("; ", s.disk_write_refusals(), " writes refused")
                        : "",
                    ")\n");
  }
  if (s.has_replication() && !s.replication().upstream().empty()) {
    AppendReplication(s.replication(), &out);
  }
  if (s.role() != "edge" || s.downstreams_size() > 0) AppendDownstreams(s, &out);
  if (s.has_cache() || s.mode() == "cache") AppendCache(s.cache(), &out);
  if (s.has_auth()) AppendAuth(s.auth(), &out);
  if (s.has_tls()) AppendTls(s.tls(), &out);
  return out;
}

std::string FormatStatusJson(const kvstore::v1::StatusResponse& status) {
  return MessageJson(status).dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace kv::kvctl

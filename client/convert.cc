#include "client/convert.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "common/counter.h"

namespace kv::client {

const char* SourceName(Source source) {
  switch (source) {
    case Source::kCentral:
      return "central";
    case Source::kEdgeStore:
      return "edge-store";
    case Source::kEdgeCache:
      return "edge-cache";
    case Source::kUpstream:
      return "upstream";
    case Source::kLocalReplica:
      return "local-replica";
    case Source::kUnknown:
      break;
  }
  return "unknown";
}

Source FromProto(kvstore::v1::Source source) {
  switch (source) {
    case kvstore::v1::SOURCE_CENTRAL:
      return Source::kCentral;
    case kvstore::v1::SOURCE_EDGE_STORE:
      return Source::kEdgeStore;
    case kvstore::v1::SOURCE_EDGE_CACHE:
      return Source::kEdgeCache;
    case kvstore::v1::SOURCE_UPSTREAM:
      return Source::kUpstream;
    default:
      return Source::kUnknown;
  }
}

tls::ClientTlsFiles ToTlsFiles(const ClientTlsOptions& tls) {
  tls::ClientTlsFiles files;
  files.enabled = tls.enabled;
  files.ca_file = tls.ca_file;
  files.cert_file = tls.cert_file;
  files.key_file = tls.key_file;
  files.server_name = tls.server_name;
  return files;
}

Entry FromProto(const kvstore::v1::Entry& entry) {
  Entry e;
  e.key = entry.key();
  e.value = entry.value();
  e.metadata = entry.metadata();
  e.version = entry.version();
  e.expiration = entry.expiration();
  return e;
}

ReadInfo FromProto(const kvstore::v1::ReadInfo& info, const std::string& endpoint) {
  ReadInfo r;
  r.staleness = absl::Microseconds(info.staleness_micros());
  r.source = FromProto(info.source());
  r.as_of_version = info.as_of_version();
  r.node_id = info.node_id();
  r.stale = info.stale();
  r.endpoint = endpoint;
  return r;
}

NodeStatus FromProto(const kvstore::v1::StatusResponse& status, const std::string& endpoint) {
  NodeStatus n;
  n.endpoint = endpoint;
  n.role = status.role();
  n.mode = status.mode();
  n.node_id = status.node_id();
  n.cluster_id = status.cluster_id();
  n.build_version = status.build_version();
  n.uptime = absl::Seconds(status.uptime_seconds());
  n.ready = status.ready();
  n.head_version = status.head_version();
  n.oldest_log_version = status.oldest_log_version();
  n.key_count = status.key_count();
  if (status.has_replication()) {
    const kvstore::v1::ReplicationStatus& r = status.replication();
    n.upstream = r.upstream();
    n.upstream_connected = r.connected();
    // An edge that never synced reports the largest int64 (FreshnessTracker::kNeverFresh).
    n.staleness = r.staleness_micros() == std::numeric_limits<int64_t>::max()
                      ? absl::InfiniteDuration()
                      : absl::Microseconds(r.staleness_micros());
    n.max_staleness = absl::Microseconds(r.max_staleness_micros());
  }
  return n;
}

void ToProto(const ReadOptions& options, uint64_t min_version, kvstore::v1::ReadOptions* out) {
  out->set_consistency(options.consistency == Consistency::kStrong
                           ? kvstore::v1::CONSISTENCY_STRONG
                           : kvstore::v1::CONSISTENCY_BOUNDED);
  out->set_max_staleness_micros(absl::ToInt64Microseconds(options.max_staleness));
  out->set_min_version(min_version);
  out->set_allow_stale(options.allow_stale);
}

absl::Status ToProto(absl::string_view key, absl::string_view value, const PutOptions& options,
                     kvstore::v1::PutRequest* out) {
  if (options.ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ttl: must not be negative");
  }
  int64_t ttl_seconds = 0;
  if (options.ttl > absl::ZeroDuration()) {
    absl::Duration rest;
    ttl_seconds = absl::IDivDuration(options.ttl, absl::Seconds(1), &rest);
    if (ttl_seconds < 1 || rest != absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ttl: must be a whole number of seconds >= 1s, got ", absl::FormatDuration(options.ttl)));
    }
  }
  if (ttl_seconds > 0 && options.expiration != 0) {
    return absl::InvalidArgumentError("ttl and expiration: set at most one");
  }
  if (options.expiration < 0) return absl::InvalidArgumentError("expiration: must be >= 0");
  out->set_key(key.data(), key.size());
  out->set_value(value.data(), value.size());
  out->set_metadata(options.metadata);
  out->set_ttl_seconds(ttl_seconds);
  out->set_expiration(options.expiration);
  if (options.if_version.has_value()) out->set_if_version(*options.if_version);
  return absl::OkStatus();
}

absl::Status ToProto(const std::vector<CommitCheck>& checks,
                     const std::vector<CommitMutation>& mutations,
                     kvstore::v1::CommitRequest* out) {
  for (const CommitCheck& c : checks) {
    kvstore::v1::CommitCheck* check = out->add_checks();
    check->set_key(c.key);
    if (c.version.has_value()) {
      if (*c.version == 0) {
        return absl::InvalidArgumentError(
            "check version: must be >= 1 (use CommitCheck::Absent for a key that must not exist)");
      }
      check->set_version(*c.version);
    } else {
      check->set_absent(true);
    }
  }
  for (const CommitMutation& m : mutations) {
    kvstore::v1::CommitMutation* mutation = out->add_mutations();
    switch (m.kind) {
      case CommitMutation::Kind::kPut:
        if (m.put.if_version.has_value()) {
          return absl::InvalidArgumentError(
              "put if_version: not allowed in a commit (give a CommitCheck instead)");
        }
        if (absl::Status s = ToProto(m.key, m.value, m.put, mutation->mutable_put()); !s.ok()) {
          return s;
        }
        break;
      case CommitMutation::Kind::kDelete:
        mutation->mutable_delete_()->set_key(m.key);
        break;
      case CommitMutation::Kind::kAdd:
        mutation->mutable_add()->set_key(m.key);
        mutation->mutable_add()->set_delta(m.delta);
        break;
    }
  }
  return absl::OkStatus();
}

std::string EncodeCounter(int64_t value) {
  return EncodeCounterBytes(static_cast<uint64_t>(value));
}

std::optional<int64_t> DecodeCounter(absl::string_view value) {
  if (value.size() != kCounterBytes) return std::nullopt;
  return static_cast<int64_t>(DecodeCounterBytes(value));
}

}  // namespace kv::client

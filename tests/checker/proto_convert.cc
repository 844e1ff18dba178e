#include "tests/checker/proto_convert.h"

#include "tests/checker/hash.h"

namespace kv::checker {

Source SourceFromProto(kvstore::v1::Source source) {
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
      return Source::kUnspecified;
  }
}

LogEntry LogEntryFromChange(const kvstore::v1::Change& change) {
  LogEntry e;
  e.version = change.version();
  e.key = change.key();
  e.expiration = change.expiration();
  switch (change.kind()) {
    case kvstore::v1::Change::KIND_DELETE:
      e.kind = ChangeKind::kDelete;
      break;
    case kvstore::v1::Change::KIND_INVALIDATE:
      e.kind = ChangeKind::kInvalidate;
      break;
    default:
      e.kind = ChangeKind::kPut;
      e.has_value_hash = true;
      e.value_hash = HashValue(change.value());
      break;
  }
  return e;
}

std::vector<LogEntry> LogEntriesFromChange(const kvstore::v1::Change& change) {
  if (change.kind() != kvstore::v1::Change::KIND_COMMIT) return {LogEntryFromChange(change)};
  std::vector<LogEntry> entries;
  for (const auto& part : change.parts()) {
    entries.push_back(LogEntryFromChange(part));
    entries.back().version = change.version();
    entries.back().commit_parts = change.parts_size();
  }
  return entries;
}

NodeEntry NodeEntryFromEntry(const kvstore::v1::Entry& entry) {
  NodeEntry n;
  n.key = entry.key();
  n.value_hash = HashValue(entry.value());
  n.version = entry.version();
  n.expiration = entry.expiration();
  return n;
}

void FillFromGetResponse(const kvstore::v1::GetResponse& response, Operation* op) {
  op->found = response.found();
  if (op->found) {
    op->value_hash = HashValue(response.entry().value());
    op->version = response.entry().version();
  }
  op->as_of_version = response.info().as_of_version();
  op->staleness_micros = response.info().staleness_micros();
  op->source = SourceFromProto(response.info().source());
  op->stale = response.info().stale();
}

void FillFromPutResponse(const kvstore::v1::PutResponse& response, Operation* op) {
  op->version = response.version();
}

void FillFromDeleteResponse(const kvstore::v1::DeleteResponse& response, Operation* op) {
  op->found = response.deleted();
  op->version = response.version();
}

}  // namespace kv::checker

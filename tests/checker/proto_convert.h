#pragma once
// Fills the checker's records from the kvstore.v1 messages a harness sees, so every test records
// reads, writes and the log the same way.

#include "kvstore/v1/kv.pb.h"
#include "kvstore/v1/replication.pb.h"
#include "tests/checker/change_log_model.h"
#include "tests/checker/convergence.h"
#include "tests/checker/history.h"

namespace kv::checker {

Source SourceFromProto(kvstore::v1::Source source);

// A log record, with the value hashed (kInvalidate carries no value: no hash).
LogEntry LogEntryFromChange(const kvstore::v1::Change& change);
// The log entries of a change: itself, or one per part of a commit (KIND_COMMIT), each at the
// commit's version with commit_parts set.
std::vector<LogEntry> LogEntriesFromChange(const kvstore::v1::Change& change);

// A node's live entry (from a Snapshot chunk or a List with values).
NodeEntry NodeEntryFromEntry(const kvstore::v1::Entry& entry);

// Results of a successful Get into `op` (found, value hash, version, as_of, staleness, source,
// stale). The request side (key, bound, strong, min_version) is the caller's to set.
void FillFromGetResponse(const kvstore::v1::GetResponse& response, Operation* op);
// Results of a successful Put / Delete.
void FillFromPutResponse(const kvstore::v1::PutResponse& response, Operation* op);
void FillFromDeleteResponse(const kvstore::v1::DeleteResponse& response, Operation* op);

}  // namespace kv::checker

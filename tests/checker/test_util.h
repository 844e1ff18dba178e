#pragma once
// Builders for hand-made histories in the checker's tests.

#include <string>
#include <vector>

#include "tests/checker/change_log_model.h"
#include "tests/checker/hash.h"
#include "tests/checker/history.h"

namespace kv::checker::testutil {

// Values are named by strings; HashValue turns them into what clients record.
inline uint64_t V(const std::string& value) { return HashValue(value); }

class HistoryBuilder {
 public:
  std::vector<Operation> ops;
  std::vector<LogEntry> log;

  int64_t Put(uint64_t client, const std::string& key, const std::string& value, uint64_t version,
              int64_t invoke, int64_t complete, Outcome outcome = Outcome::kOk) {
    Operation op;
    op.client = client;
    op.node = "central";
    op.kind = OpKind::kPut;
    op.key = key;
    op.value_hash = V(value);
    op.version = outcome == Outcome::kOk ? version : 0;
    op.invoke_micros = invoke;
    op.complete_micros = complete;
    op.outcome = outcome;
    return Add(std::move(op));
  }
  // `deleted` = the key existed; otherwise `version` is the head it was judged at.
  int64_t Delete(uint64_t client, const std::string& key, bool deleted, uint64_t version,
                 int64_t invoke, int64_t complete, Outcome outcome = Outcome::kOk) {
    Operation op;
    op.client = client;
    op.node = "central";
    op.kind = OpKind::kDelete;
    op.key = key;
    op.found = deleted;
    op.version = version;
    op.invoke_micros = invoke;
    op.complete_micros = complete;
    op.outcome = outcome;
    return Add(std::move(op));
  }
  // A bounded read at an edge that returned `value` at `version` (empty value = not found).
  Operation& Get(uint64_t client, const std::string& key, const std::string& value,
                 uint64_t version, int64_t invoke, int64_t complete, int64_t bound = -1) {
    Operation op;
    op.client = client;
    op.node = "edge-a";
    op.kind = OpKind::kGet;
    op.key = key;
    op.found = !value.empty();
    op.value_hash = value.empty() ? 0 : V(value);
    op.version = value.empty() ? 0 : version;
    op.bound_micros = bound;
    op.invoke_micros = invoke;
    op.complete_micros = complete;
    Add(std::move(op));
    return ops.back();
  }
  Operation& StrongGet(uint64_t client, const std::string& key, const std::string& value,
                       uint64_t version, int64_t invoke, int64_t complete) {
    Operation& op = Get(client, key, value, version, invoke, complete);
    op.node = "central";
    op.strong = true;
    op.source = Source::kCentral;
    op.staleness_micros = 0;
    return op;
  }

  void LogPut(uint64_t version, const std::string& key, const std::string& value,
              int64_t expiration = 0) {
    log.push_back({version, ChangeKind::kPut, key, true, V(value), expiration});
  }
  void LogDelete(uint64_t version, const std::string& key) {
    log.push_back({version, ChangeKind::kDelete, key, false, 0, 0});
  }
  void LogInvalidate(uint64_t version, const std::string& key) {
    log.push_back({version, ChangeKind::kInvalidate, key, false, 0, 0});
  }

 private:
  int64_t Add(Operation op) {
    ops.push_back(std::move(op));
    return ops.size() - 1;
  }
};

}  // namespace kv::checker::testutil

#pragma once
// JSON-lines files for histories, change logs and node contents, so a failing run can be saved
// as an artifact and re-checked with kvcheck. One object per line; formats in docs/checker.md.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/checker/change_log_model.h"
#include "tests/checker/convergence.h"
#include "tests/checker/history.h"

namespace kv::checker {

// One line (no newline) <-> one record.
std::string OperationToJson(const Operation& op);
absl::StatusOr<Operation> OperationFromJson(std::string_view line);
std::string LogEntryToJson(const LogEntry& entry);
absl::StatusOr<LogEntry> LogEntryFromJson(std::string_view line);
std::string NodeEntryToJson(const NodeEntry& entry);
absl::StatusOr<NodeEntry> NodeEntryFromJson(std::string_view line);

// Whole files. Read errors name the file and line.
absl::Status WriteHistoryFile(const std::string& path, const std::vector<Operation>& ops);
absl::StatusOr<std::vector<Operation>> ReadHistoryFile(const std::string& path);
absl::Status WriteLogFile(const std::string& path, const std::vector<LogEntry>& log);
absl::StatusOr<std::vector<LogEntry>> ReadLogFile(const std::string& path);
absl::Status WriteContentFile(const std::string& path, const std::vector<NodeEntry>& content);
absl::StatusOr<std::vector<NodeEntry>> ReadContentFile(const std::string& path);

}  // namespace kv::checker

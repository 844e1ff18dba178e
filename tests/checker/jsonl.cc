#include "tests/checker/jsonl.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kv::checker {
namespace {

using nlohmann::json;

// Bytes go in "<name>" when printable ASCII, else in "<name>_hex".
void PutBytes(json& j, const char* name, std::string_view bytes) {
  bool printable = true;
  for (char ch : bytes) printable &= ch >= 0x20 && ch <= 0x7e;
  if (printable) {
    j[name] = bytes;
  } else {
    j[absl::StrCat(name, "_hex")] =
        absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
  }
}

std::string HashText(uint64_t h) { return absl::StrFormat("%016x", h); }

// Field readers: absent fields keep their default; a field of the wrong type is an error.
class Reader {
 public:
  explicit Reader(const json& j) : j_(j) {}
  const std::string& error() const { return error_; }

  template <typename T>
  void Int(const char* name, T* out) {
    auto it = j_.find(name);
    if (it == j_.end()) return;
    if (!it->is_number_integer()) return Fail(name, "an integer");
    if constexpr (std::is_unsigned_v<T>) {
      if (it->is_number_unsigned()) {
        *out = it->template get<uint64_t>();
      } else if (it->template get<int64_t>() >= 0) {
        *out = it->template get<int64_t>();
      } else {
        Fail(name, "an unsigned integer");
      }
    } else {
      *out = it->template get<int64_t>();
    }
  }
  void Bool(const char* name, bool* out) {
    auto it = j_.find(name);
    if (it == j_.end()) return;
    if (!it->is_boolean()) return Fail(name, "true or false");
    *out = it->get<bool>();
  }
  bool String(const char* name, std::string* out) {
    auto it = j_.find(name);
    if (it == j_.end()) return false;
    if (!it->is_string()) {
      Fail(name, "a string");
      return false;
    }
    *out = it->get<std::string>();
    return true;
  }
  void Bytes(const char* name, std::string* out) {
    if (String(name, out)) return;
    std::string hex;
    std::string hex_name = absl::StrCat(name, "_hex");
    if (!String(hex_name.c_str(), &hex)) return;
    if (hex.size() % 2 != 0 || !std::all_of(hex.begin(), hex.end(), ::isxdigit)) {
      return Fail(hex_name.c_str(), "hex digits");
    }
    *out = absl::HexStringToBytes(hex);
  }
  // A hash: 16 hex digits. Returns whether present.
  bool Hash(const char* name, uint64_t* out) {
    std::string text;
    if (!String(name, &text)) return false;
    if (text.empty() || text.size() > 16 || !absl::SimpleHexAtoi(text, out)) {
      Fail(name, "a hash of up to 16 hex digits");
    }
    return true;
  }
  template <typename Enum>
  void Enumerated(const char* name, bool (*parse)(std::string_view, Enum*), Enum* out) {
    std::string text;
    if (String(name, &text) && !parse(text, out)) Fail(name, "a known name");
  }

 private:
  void Fail(const char* name, const char* expected) {
    if (error_.empty()) error_ = absl::StrCat("field \"", name, "\" must be ", expected);
  }
  const json& j_;
  std::string error_;
};

absl::StatusOr<json> ParseLine(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  return j;
}

absl::Status Done(const Reader& r) {
  return r.error().empty() ? absl::OkStatus() : absl::InvalidArgumentError(r.error());
}

template <typename T>
absl::Status WriteFile(const std::string& path, const std::vector<T>& items,
                       std::string (*to_json)(const T&)) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  for (const T& item : items) out << to_json(item) << '\n';
  out.flush();
  if (!out) return absl::DataLossError(absl::StrCat("error writing ", path));
  return absl::OkStatus();
}

template <typename T>
absl::StatusOr<std::vector<T>> ReadFile(const std::string& path,
                                        absl::StatusOr<T> (*from_json)(std::string_view)) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<T> out;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<T> item = from_json(line);
    if (!item.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": ", item.status().message()));
    }
    out.push_back(*std::move(item));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path));
  return out;
}

}  // namespace

std::string OperationToJson(const Operation& op) {
  json j;
  j["client"] = op.client;
  j["node"] = op.node;
  j["kind"] = OpKindName(op.kind);
  PutBytes(j, "key", op.key);
  if (op.kind == OpKind::kPut || op.found) j["value"] = HashText(op.value_hash);
  j["found"] = op.found;
  j["version"] = op.version;
  if (op.kind == OpKind::kGet) {
    j["as_of"] = op.as_of_version;
    j["staleness"] = op.staleness_micros;
    j["source"] = SourceName(op.source);
    if (op.stale) j["stale"] = true;
    j["min_version"] = op.min_version;
    j["bound"] = op.bound_micros;
    j["strong"] = op.strong;
  }
  j["invoke"] = op.invoke_micros;
  j["complete"] = op.complete_micros;
  j["outcome"] = OutcomeName(op.outcome);
  if (!op.error.empty()) j["error"] = op.error;
  if (op.group != 0) j["group"] = op.group;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<Operation> OperationFromJson(std::string_view line) {
  absl::StatusOr<json> j = ParseLine(line);
  if (!j.ok()) return j.status();
  Operation op;
  Reader r(*j);
  r.Int("client", &op.client);
  r.String("node", &op.node);
  r.Enumerated("kind", &ParseOpKind, &op.kind);
  r.Bytes("key", &op.key);
  r.Hash("value", &op.value_hash);
  r.Bool("found", &op.found);
  r.Int("version", &op.version);
  r.Int("as_of", &op.as_of_version);
  r.Int("staleness", &op.staleness_micros);
  r.Enumerated("source", &ParseSource, &op.source);
  r.Bool("stale", &op.stale);
  r.Int("min_version", &op.min_version);
  r.Int("bound", &op.bound_micros);
  r.Bool("strong", &op.strong);
  r.Int("invoke", &op.invoke_micros);
  r.Int("complete", &op.complete_micros);
  r.Enumerated("outcome", &ParseOutcome, &op.outcome);
  r.String("error", &op.error);
  r.Int("group", &op.group);
  if (absl::Status s = Done(r); !s.ok()) return s;
  return op;
}

std::string LogEntryToJson(const LogEntry& e) {
  json j;
  j["version"] = e.version;
  j["kind"] = ChangeKindName(e.kind);
  PutBytes(j, "key", e.key);
  if (e.has_value_hash) j["value"] = HashText(e.value_hash);
  if (e.expiration != 0) j["expiration"] = e.expiration;
  if (e.commit_parts != 0) j["commit_parts"] = e.commit_parts;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<LogEntry> LogEntryFromJson(std::string_view line) {
  absl::StatusOr<json> j = ParseLine(line);
  if (!j.ok()) return j.status();
  LogEntry e;
  Reader r(*j);
  r.Int("version", &e.version);
  r.Enumerated("kind", &ParseChangeKind, &e.kind);
  r.Bytes("key", &e.key);
  e.has_value_hash = r.Hash("value", &e.value_hash);
  r.Int("expiration", &e.expiration);
  r.Int("commit_parts", &e.commit_parts);
  if (absl::Status s = Done(r); !s.ok()) return s;
  return e;
}

std::string NodeEntryToJson(const NodeEntry& e) {
  json j;
  PutBytes(j, "key", e.key);
  if (e.has_value_hash) j["value"] = HashText(e.value_hash);
  j["version"] = e.version;
  if (e.expiration != 0) j["expiration"] = e.expiration;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<NodeEntry> NodeEntryFromJson(std::string_view line) {
  absl::StatusOr<json> j = ParseLine(line);
  if (!j.ok()) return j.status();
  NodeEntry e;
  Reader r(*j);
  r.Bytes("key", &e.key);
  e.has_value_hash = r.Hash("value", &e.value_hash);
  r.Int("version", &e.version);
  r.Int("expiration", &e.expiration);
  if (absl::Status s = Done(r); !s.ok()) return s;
  return e;
}

absl::Status WriteHistoryFile(const std::string& path, const std::vector<Operation>& ops) {
  return WriteFile(path, ops, &OperationToJson);
}
absl::StatusOr<std::vector<Operation>> ReadHistoryFile(const std::string& path) {
  return ReadFile(path, &OperationFromJson);
}
absl::Status WriteLogFile(const std::string& path, const std::vector<LogEntry>& log) {
  return WriteFile(path, log, &LogEntryToJson);
}
absl::StatusOr<std::vector<LogEntry>> ReadLogFile(const std::string& path) {
  return ReadFile(path, &LogEntryFromJson);
}
absl::Status WriteContentFile(const std::string& path, const std::vector<NodeEntry>& content) {
  return WriteFile(path, content, &NodeEntryToJson);
}
absl::StatusOr<std::vector<NodeEntry>> ReadContentFile(const std::string& path) {
  return ReadFile(path, &NodeEntryFromJson);
}

}  // namespace kv::checker

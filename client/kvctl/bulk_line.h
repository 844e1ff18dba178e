#pragma once
// One line of a bulk-put file: a JSON object
//   {"key": "k", "value": "v", "ttl": 30 | "30s", "metadata": "m"}
// Binary data goes base64-encoded in "key_base64", "value_base64", "metadata_base64".
// Optional: "expiration" (absolute Unix seconds), "if_version" (conditional write).
// Unknown fields are errors, so a typo ("tll") is reported instead of silently ignored.

#include <cstdint>
#include <istream>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kv/client.h"

namespace kv::kvctl {

struct BulkRecord {
  std::string key;
  std::string value;
  // metadata, ttl, expiration, if_version.
  client::PutOptions options;
};

// Parses one line; the error message names the field and what is wrong.
absl::StatusOr<BulkRecord> ParseBulkLine(absl::string_view line);
// The same, for a line already parsed as JSON (a commit's "put" has the same fields).
absl::StatusOr<BulkRecord> ParseBulkObject(const nlohmann::json& obj);
// Parses JSON text; the error says where it is malformed.
absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text);
// Reads a bytes field of `obj` given either as text (`name`) or base64 (`name`_base64);
// `present` tells whether either form was there.
absl::Status BytesField(const nlohmann::json& obj, const std::string& name, std::string* out,
                        bool* present);

// A TTL as given to `put --ttl` or a bulk line's "ttl" string: "30s", "5m", "1h30m", or a bare
// number of seconds. Must be a whole number of seconds, at least 1.
absl::StatusOr<absl::Duration> ParseTtl(absl::string_view text);

// True for blank lines (only whitespace), which bulk-put skips.
bool IsBlankLine(absl::string_view line);

}  // namespace kv::kvctl

namespace kv::kvctl {

// Reads a bulk-put file line by line, numbering lines from 1 and parsing each.
class JsonLinesReader {
 public:
  struct Line {
    int64_t number = 0;
    // Blank lines are skipped by bulk-put (no record, not an error).
    bool blank = false;
    absl::StatusOr<BulkRecord> record;
    // The line as read, without its line ending.
    std::string text;
  };

  explicit JsonLinesReader(std::istream& in) : in_(in) {}
  // False at end of input.
  bool Next(Line* line);

 private:
  std::istream& in_;
  int64_t number_ = 0;
  std::string buffer_;
};

}  // namespace kv::kvctl

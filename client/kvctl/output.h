#pragma once
// How kvctl prints results: JSON objects for -o json, and the human-readable text forms.
// Bytes that are valid UTF-8 print as text ("value"); anything else prints base64-encoded under
// a marked name ("value_base64"), so JSON output is always valid and loses nothing.

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kv/client.h"
#include "kvstore/v1/admin.pb.h"

namespace kv::kvctl {

bool IsValidUtf8(absl::string_view bytes);

// Sets obj[name] = text, or obj[name + "_base64"] = base64 when `bytes` is not UTF-8.
void SetBytes(nlohmann::json& obj, const std::string& name, absl::string_view bytes);

// key, value (if `with_value`), metadata, version, expiration (and expires_at when set).
nlohmann::json EntryJson(const client::Entry& entry, bool with_value);
// source, staleness_micros, staleness, as_of_version, node, stale, endpoint.
void AddReadInfo(nlohmann::json& obj, const client::ReadInfo& info);
nlohmann::json GetJson(absl::string_view key, const client::GetResult& result);
nlohmann::json ListJson(const client::ListResult& result, bool with_values);

// List cursors are bytes; kvctl shows them as URL-safe base64 and accepts them back.
std::string EncodeCursor(absl::string_view cursor);
absl::StatusOr<std::string> DecodeCursor(absl::string_view text);

// Bytes for a one-line human display: printable text as is, anything else C-escaped.
std::string Printable(absl::string_view bytes);
// "2024-05-01T12:00:00Z (in 29s)" or "never".
std::string FormatExpiration(int64_t unix_seconds, int64_t now_unix_seconds);

// `kvctl status` for people: identity, versions, replication, downstreams table, cache stats.
std::string FormatStatusText(const kvstore::v1::StatusResponse& status);
// `kvctl status -o json`: every field of StatusResponse, proto field names.
std::string FormatStatusJson(const kvstore::v1::StatusResponse& status);

}  // namespace kv::kvctl

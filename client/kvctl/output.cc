#include "client/kvctl/output.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/units.h"

namespace kv::kvctl {

using nlohmann::json;

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

void SetBytes(json& obj, const std::string& name, absl::string_view bytes) {
  if (IsValidUtf8(bytes)) {
    obj[name] = std::string(bytes);
  } else {
    obj[name + "_base64"] = absl::Base64Escape(bytes);
  }
}

json EntryJson(const client::Entry& entry, bool with_value) {
  json obj = json::object();
  SetBytes(obj, "key", entry.key);
  if (with_value) SetBytes(obj, "value", entry.value);
  obj["version"] = entry.version;
  SetBytes(obj, "metadata", entry.metadata);
  obj["expiration"] = entry.expiration;
  if (entry.expiration != 0) {
    obj["expires_at"] = absl::FormatTime(
        "%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(entry.expiration), absl::UTCTimeZone());
  }
  return obj;
}

void AddReadInfo(json& obj, const client::ReadInfo& info) {
  const int64_t micros = absl::ToInt64Microseconds(info.staleness);
  obj["source"] = client::SourceName(info.source);
  obj["staleness_micros"] = micros;
  obj["staleness"] = FormatMicros(micros);
  obj["as_of_version"] = info.as_of_version;
  obj["node"] = info.node_id;
  obj["stale"] = info.stale;
  obj["endpoint"] = info.endpoint;
}

json GetJson(absl::string_view key, const client::GetResult& result) {
  json obj;
  if (result.found) {
    obj = EntryJson(result.entry, /*with_value=*/true);
  } else {
    obj = json::object();
    SetBytes(obj, "key", key);
  }
  obj["found"] = result.found;
  AddReadInfo(obj, result.info);
  return obj;
}

json ListJson(const client::ListResult& result, bool with_values) {
  json entries = json::array();
  for (const client::Entry& e : result.entries) entries.push_back(EntryJson(e, with_values));
  json obj = json::object();
  obj["entries"] = std::move(entries);
  obj["count"] = result.entries.size();
  obj["next_cursor"] = EncodeCursor(result.next_cursor);
  AddReadInfo(obj, result.info);
  return obj;
}

std::string EncodeCursor(absl::string_view cursor) { return absl::WebSafeBase64Escape(cursor); }

absl::StatusOr<std::string> DecodeCursor(absl::string_view text) {
  std::string out;
  if (!absl::WebSafeBase64Unescape(text, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cursor: '", text, "' is not a cursor printed by kvctl list"));
  }
  return out;
}

std::string Printable(absl::string_view bytes) {
  bool plain = IsValidUtf8(bytes);
  for (char c : bytes) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) plain = false;
  }
  return plain ? std::string(bytes) : absl::CHexEscape(bytes);
}

std::string FormatExpiration(int64_t unix_seconds, int64_t now_unix_seconds) {
  if (unix_seconds == 0) return "never";
  std::string at = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                                    absl::UTCTimeZone());
  if (unix_seconds <= now_unix_seconds) return at + " (expired)";
  return absl::StrCat(at, " (in ",
                      absl::FormatDuration(absl::Seconds(unix_seconds - now_unix_seconds)), ")");
}

}  // namespace kv::kvctl

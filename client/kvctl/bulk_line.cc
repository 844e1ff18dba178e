#include "client/kvctl/bulk_line.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/units.h"

namespace kv::kvctl {
namespace {

using nlohmann::json;

constexpr const char* kAllowedFields =
    "key, key_base64, value, value_base64, metadata, metadata_base64, ttl, expiration, "
    "if_version";

absl::Status CheckTtl(absl::Duration d, absl::string_view shown) {
  absl::Duration rest;
  int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &rest);
  if (seconds < 1 || rest != absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttl: must be a whole number of seconds >= 1, got ", shown));
  }
  return absl::OkStatus();
}

bool DecodeBase64(absl::string_view in, std::string* out) {
  return absl::Base64Unescape(in, out) || absl::WebSafeBase64Unescape(in, out);
}

}  // namespace

absl::Status BytesField(const json& obj, const std::string& name, std::string* out, bool* present) {
  const std::string b64 = name + "_base64";
  auto text = obj.find(name);
  auto enc = obj.find(b64);
  *present = text != obj.end() || enc != obj.end();
  if (text != obj.end() && enc != obj.end()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " and ", b64, ": give only one"));
  }
  if (text != obj.end()) {
    if (!text->is_string()) return absl::InvalidArgumentError(absl::StrCat(name, ": not a string"));
    *out = text->get<std::string>();
  } else if (enc != obj.end()) {
    if (!enc->is_string() || !DecodeBase64(enc->get<std::string>(), out)) {
      return absl::InvalidArgumentError(absl::StrCat(b64, ": not valid base64"));
    }
  }
  return absl::OkStatus();
}

namespace {

// A non-negative integer field; JSON numbers like 5.0 are accepted, 5.5 and -1 are not.
absl::Status UintField(const json& v, absl::string_view name, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return absl::OkStatus();
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d >= 0 && d == std::floor(d) && d < 1.8e19) {
      *out = static_cast<uint64_t>(d);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(name, ": must be a whole number >= 0"));
}

absl::Status ParseTtlField(const json& v, client::PutOptions* options) {
  if (v.is_string()) {
    absl::StatusOr<absl::Duration> d = ParseTtl(v.get<std::string>());
    if (!d.ok()) return d.status();
    options->ttl = *d;
    return absl::OkStatus();
  }
  if (v.is_number()) {
    double seconds = v.get<double>();
    if (!std::isfinite(seconds) || seconds < 1 || seconds != std::floor(seconds) ||
        seconds > static_cast<double>(std::numeric_limits<int64_t>::max() / 1000000)) {
      return absl::InvalidArgumentError(
          absl::StrCat("ttl: must be a whole number of seconds >= 1, got ", v.dump()));
    }
    options->ttl = absl::Seconds(static_cast<int64_t>(seconds));
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("ttl: must be a number of seconds or a string like \"30s\"");
}

}  // namespace

absl::StatusOr<absl::Duration> ParseTtl(absl::string_view text) {
  absl::StatusOr<absl::Duration> d = ParseDurationFlag(text);
  if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat("ttl: ", d.status().message()));
  if (absl::Status s = CheckTtl(*d, absl::StrCat("'", text, "'")); !s.ok()) return s;
  return *d;
}

bool IsBlankLine(absl::string_view line) { return absl::StripAsciiWhitespace(line).empty(); }

absl::StatusOr<json> ParseJson(absl::string_view text) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
    std::string what = e.what();
    size_t close = what.find("] ");
    if (close != std::string::npos) what = what.substr(close + 2);
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON: ", what));
  }
}

absl::StatusOr<BulkRecord> ParseBulkLine(absl::string_view line) {
  absl::StatusOr<json> obj = ParseJson(line);
  if (!obj.ok()) return obj.status();
  return ParseBulkObject(*obj);
}

absl::StatusOr<BulkRecord> ParseBulkObject(const json& obj) {
  if (!obj.is_object()) return absl::InvalidArgumentError("not a JSON object");
  for (const auto& [name, value] : obj.items()) {
    static const char* kKnown[] = {"key",       "key_base64", "value",           "value_base64",
                                   "metadata",  "ttl",        "metadata_base64", "expiration",
                                   "if_version"};
    bool known = false;
    for (const char* k : kKnown) known = known || name == k;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field \"", name, "\" (allowed: ", kAllowedFields, ")"));
    }
  }
  BulkRecord r;
  bool present = false;
  if (absl::Status s = BytesField(obj, "key", &r.key, &present); !s.ok()) return s;
  if (!present) return absl::InvalidArgumentError("key: missing");
  if (r.key.empty()) return absl::InvalidArgumentError("key: empty");
  if (absl::Status s = BytesField(obj, "value", &r.value, &present); !s.ok()) return s;
  if (!present) {
    return absl::InvalidArgumentError("value: missing (give \"value\" or \"value_base64\")");
  }
  if (absl::Status s = BytesField(obj, "metadata", &r.options.metadata, &present); !s.ok()) {
    return s;
  }
  if (auto it = obj.find("ttl"); it != obj.end()) {
    if (absl::Status s = ParseTtlField(*it, &r.options); !s.ok()) return s;
  }
  if (auto it = obj.find("expiration"); it != obj.end()) {
    uint64_t e = 0;
    if (absl::Status s = UintField(*it, "expiration", &e); !s.ok()) return s;
    if (e > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::InvalidArgumentError("expiration: too large");
    }
    r.options.expiration = static_cast<int64_t>(e);
  }
  if (r.options.ttl > absl::ZeroDuration() && r.options.expiration != 0) {
    return absl::InvalidArgumentError("ttl and expiration: give at most one");
  }
  if (auto it = obj.find("if_version"); it != obj.end()) {
    uint64_t v = 0;
    if (absl::Status s = UintField(*it, "if_version", &v); !s.ok()) return s;
    r.options.if_version = v;
  }
  return r;
}

}  // namespace kv::kvctl

namespace kv::kvctl {

bool JsonLinesReader::Next(Line* line) {
  if (!std::getline(in_, buffer_)) return false;
  if (!buffer_.empty() && buffer_.back() == '\r') buffer_.pop_back();
  line->number = ++number_;
  line->blank = IsBlankLine(buffer_);
  line->record = line->blank ? absl::StatusOr<BulkRecord>(absl::InvalidArgumentError("blank"))
                             : ParseBulkLine(buffer_);
  line->text.swap(buffer_);  // no copy; getline refills buffer_ next time
  return true;
}

}  // namespace kv::kvctl

#include "client/kvctl/commit_json.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "client/kvctl/bulk_line.h"

namespace kv::kvctl {
namespace {

using nlohmann::json;

absl::Status Prefixed(const std::string& where, const absl::Status& s) {
  return absl::InvalidArgumentError(absl::StrCat(where, ".", s.message()));
}

// Refuses fields of `obj` outside `allowed`.
absl::Status OnlyFields(const json& obj, std::initializer_list<const char*> allowed) {
  for (const auto& [name, value] : obj.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || name == a;
    if (!known) {
      std::string list;
      for (const char* a : allowed) absl::StrAppend(&list, list.empty() ? "" : ", ", a);
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field \"", name, "\" (allowed: ", list, ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> KeyField(const json& obj) {
  std::string key;
  bool present = false;
  if (absl::Status s = BytesField(obj, "key", &key, &present); !s.ok()) return s;
  if (!present) return absl::InvalidArgumentError("key: missing (give \"key\" or \"key_base64\")");
  if (key.empty()) return absl::InvalidArgumentError("key: empty");
  return key;
}

absl::StatusOr<client::CommitCheck> ParseCheck(const json& obj) {
  if (!obj.is_object()) return absl::InvalidArgumentError("not a JSON object");
  if (auto s = OnlyFields(obj, {"key", "key_base64", "version", "absent"}); !s.ok()) return s;
  absl::StatusOr<std::string> key = KeyField(obj);
  if (!key.ok()) return key.status();
  auto version = obj.find("version");
  auto absent = obj.find("absent");
  if (absent != obj.end() && !absent->is_boolean()) {
    return absl::InvalidArgumentError("absent: must be true or false");
  }
  const bool is_absent = absent != obj.end() && absent->get<bool>();
  if (is_absent == (version != obj.end())) {
    return absl::InvalidArgumentError("give exactly one of \"version\" and \"absent\": true");
  }
  if (is_absent) return client::CommitCheck::Absent(*std::move(key));
  if (!version->is_number_unsigned() || version->get<uint64_t>() == 0) {
    return absl::InvalidArgumentError("version: must be a whole number >= 1");
  }
  return client::CommitCheck::AtVersion(*std::move(key), version->get<uint64_t>());
}

absl::StatusOr<client::CommitMutation> ParseMutation(const json& obj) {
  if (!obj.is_object() || obj.size() != 1) {
    return absl::InvalidArgumentError(
        "must be an object with exactly one of \"put\", \"delete\", \"add\"");
  }
  const std::string& op = obj.begin().key();
  const json& body = obj.begin().value();
  if (op == "put") {
    absl::StatusOr<BulkRecord> r = ParseBulkObject(body);
    if (!r.ok()) return Prefixed("put", r.status());
    if (r->options.if_version.has_value()) {
      return absl::InvalidArgumentError(
          "put.if_version: not allowed in a commit (give a check instead)");
    }
    return client::CommitMutation::Put(std::move(r->key), std::move(r->value),
                                       std::move(r->options));
  }
  if (op != "delete" && op != "add") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown operation \"", op, "\" (put, delete or add)"));
  }
  if (!body.is_object()) return absl::InvalidArgumentError(op + ": not a JSON object");
  const bool add = op == "add";
  absl::Status fields = add ? OnlyFields(body, {"key", "key_base64", "delta"})
                            : OnlyFields(body, {"key", "key_base64"});
  if (!fields.ok()) return Prefixed(op, fields);
  absl::StatusOr<std::string> key = KeyField(body);
  if (!key.ok()) return Prefixed(op, key.status());
  if (!add) return client::CommitMutation::Delete(*std::move(key));
  auto delta = body.find("delta");
  if (delta == body.end() || !delta->is_number_integer()) {
    return absl::InvalidArgumentError("add.delta: must be a whole number (may be negative)");
  }
  return client::CommitMutation::Add(*std::move(key), delta->get<int64_t>());
}

}  // namespace

absl::StatusOr<CommitSpec> ParseCommitJson(absl::string_view text) {
  absl::StatusOr<json> obj = ParseJson(text);
  if (!obj.ok()) return obj.status();
  if (!obj->is_object()) return absl::InvalidArgumentError("not a JSON object");
  if (auto s = OnlyFields(*obj, {"checks", "mutations"}); !s.ok()) return s;
  CommitSpec spec;
  if (auto checks = obj->find("checks"); checks != obj->end()) {
    if (!checks->is_array()) return absl::InvalidArgumentError("checks: must be an array");
    for (size_t i = 0; i < checks->size(); ++i) {
      absl::StatusOr<client::CommitCheck> c = ParseCheck((*checks)[i]);
      if (!c.ok()) return Prefixed(absl::StrCat("checks[", i, "]"), c.status());
      spec.checks.push_back(*std::move(c));
    }
  }
  auto mutations = obj->find("mutations");
  if (mutations == obj->end() || !mutations->is_array() || mutations->empty()) {
    return absl::InvalidArgumentError("mutations: must be a non-empty array");
  }
  for (size_t i = 0; i < mutations->size(); ++i) {
    absl::StatusOr<client::CommitMutation> m = ParseMutation((*mutations)[i]);
    if (!m.ok()) return Prefixed(absl::StrCat("mutations[", i, "]"), m.status());
    spec.mutations.push_back(*std::move(m));
  }
  return spec;
}

}  // namespace kv::kvctl

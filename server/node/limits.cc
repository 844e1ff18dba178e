#include "server/node/limits.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/units.h"

namespace kv::server {

std::string QuotedKey(absl::string_view key) {
  constexpr size_t kShown = 64;
  std::string shown = absl::CHexEscape(key.substr(0, kShown));
  if (key.size() > kShown) shown += "...";
  return absl::StrCat("'", shown, "'");
}

absl::Status ValidateKey(const Limits& limits, absl::string_view key, const char* field) {
  if (key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is empty (keys are 1..", limits.max_key_bytes, " bytes)"));
  }
  if (key.size() > limits.max_key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " is ", key.size(), " bytes, over the limit of ", limits.max_key_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ValidateReadOptions(const kvstore::v1::ReadOptions& options) {
  if (options.max_staleness_micros() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("options.max_staleness_micros is negative (",
                                                   options.max_staleness_micros(), ")"));
  }
  if (!kvstore::v1::Consistency_IsValid(options.consistency())) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.consistency has an unknown value ", options.consistency()));
  }
  return absl::OkStatus();
}

absl::Status ValidateGet(const Limits& limits, const kvstore::v1::GetRequest& request) {
  if (auto s = ValidateKey(limits, request.key()); !s.ok()) return s;
  return ValidateReadOptions(request.options());
}

absl::Status ValidateBatchGet(const Limits& limits, const kvstore::v1::BatchGetRequest& request) {
  if (auto s = ValidateBatchKeys(limits, request.keys()); !s.ok()) return s;
  return ValidateReadOptions(request.options());
}

absl::Status ValidatePut(const Limits& limits, const kvstore::v1::PutRequest& request,
                         int64_t now_unix) {
  if (auto s = ValidateKey(limits, request.key()); !s.ok()) return s;
  if (request.value().size() > limits.max_value_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "value is ", request.value().size(), " bytes (", FormatByteSize(request.value().size()),
        "), over the limit of ", limits.max_value_bytes, " bytes (",
        FormatByteSize(limits.max_value_bytes), ")"));
  }
  if (request.metadata().size() > limits.max_metadata_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("metadata is ", request.metadata().size(),
                                                   " bytes, over the limit of ",
                                                   limits.max_metadata_bytes, " bytes"));
  }
  if (request.ttl_seconds() != 0 && request.expiration() != 0) {
    return absl::InvalidArgumentError("ttl_seconds and expiration are both set; give at most one");
  }
  if (request.ttl_seconds() != 0 && request.ttl_seconds() < limits.min_ttl_seconds) {
    return absl::InvalidArgumentError(absl::StrCat("ttl_seconds is ", request.ttl_seconds(),
                                                   ", under the minimum of ",
                                                   limits.min_ttl_seconds, " s"));
  }
  if (request.ttl_seconds() > kMaxExpirationUnix - now_unix) {
    return absl::InvalidArgumentError(absl::StrCat("ttl_seconds is ", request.ttl_seconds(),
                                                   ", which expires after the latest accepted "
                                                   "expiration (Unix ",
                                                   kMaxExpirationUnix, ", year 9999)"));
  }
  if (request.expiration() > kMaxExpirationUnix) {
    return absl::InvalidArgumentError(absl::StrCat("expiration ", request.expiration(),
                                                   " is after the latest accepted (Unix ",
                                                   kMaxExpirationUnix, ", year 9999)"));
  }
  if (request.expiration() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("expiration is negative (", request.expiration(), ")"));
  }
  if (request.expiration() != 0 && request.expiration() < now_unix + limits.min_ttl_seconds) {
    return absl::InvalidArgumentError(
        absl::StrCat("expiration ", request.expiration(), " is less than ", limits.min_ttl_seconds,
                     " s in the future (now is ", now_unix, " Unix seconds)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDelete(const Limits& limits, const kvstore::v1::DeleteRequest& request) {
  return ValidateKey(limits, request.key());
}

absl::Status ValidateList(const Limits& limits, const kvstore::v1::ListRequest& request) {
  if (request.prefix().size() > limits.max_key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("prefix is ", request.prefix().size(),
                                                   " bytes, over the key limit of ",
                                                   limits.max_key_bytes, " bytes"));
  }
  if (request.limit() > limits.max_list_limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "limit is ", request.limit(), ", over the maximum of ", limits.max_list_limit));
  }
  if (!request.cursor().empty() && !absl::StartsWith(request.cursor(), request.prefix())) {
    return absl::InvalidArgumentError(
        "cursor does not belong to this prefix (pass the next_cursor of the same listing)");
  }
  if (request.cursor().size() > limits.max_key_bytes) {
    return absl::InvalidArgumentError("cursor is longer than any key");
  }
  return ValidateReadOptions(request.options());
}

const std::string& CommitMutationKey(const kvstore::v1::CommitMutation& m) {
  switch (m.op_case()) {
    case kvstore::v1::CommitMutation::kPut:
      return m.put().key();
    case kvstore::v1::CommitMutation::kDelete:
      return m.delete_().key();
    default:
      return m.add().key();  // the default instance's when there is no operation: empty
  }
}

namespace {

absl::Status Prefixed(const std::string& field, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(field, ".", s.message()));
}

absl::Status ValidateMutation(const Limits& limits, const kvstore::v1::CommitMutation& m,
                              const std::string& field, int64_t now_unix) {
  switch (m.op_case()) {
    case kvstore::v1::CommitMutation::kPut:
      if (m.put().has_if_version()) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, ".put.if_version is set; a commit states its conditions as checks"));
      }
      return Prefixed(field + ".put", ValidatePut(limits, m.put(), now_unix));
    case kvstore::v1::CommitMutation::kDelete:
      if (m.delete_().has_if_version()) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, ".delete.if_version is set; a commit states its conditions as checks"));
      }
      return Prefixed(field + ".delete", ValidateDelete(limits, m.delete_()));
    case kvstore::v1::CommitMutation::kAdd:
      return Prefixed(field + ".add", ValidateKey(limits, m.add().key()));
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(field, " has no operation (put, delete or add)"));
  }
}

}  // namespace

absl::Status ValidateCommit(const Limits& limits, const kvstore::v1::CommitRequest& request,
                            int64_t now_unix) {
  if (request.mutations_size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat("mutations is empty (a commit takes 1..",
                                                   limits.max_commit_mutations, " mutations)"));
  }
  if (static_cast<uint64_t>(request.mutations_size()) > limits.max_commit_mutations) {
    return absl::InvalidArgumentError(absl::StrCat("mutations has ", request.mutations_size(),
                                                   " mutations, over the limit of ",
                                                   limits.max_commit_mutations, " per commit"));
  }
  uint64_t bytes = 0;
  for (int i = 0; i < request.checks_size(); ++i) {
    const auto& c = request.checks(i);
    std::string field = absl::StrCat("checks[", i, "]");
    if (auto s = Prefixed(field, ValidateKey(limits, c.key())); !s.ok()) return s;
    if (c.absent() == (c.version() != 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " must give exactly one of version (> 0) and absent (key ",
                       QuotedKey(c.key()), ")"));
    }
    bytes += c.key().size();
  }
  absl::flat_hash_set<absl::string_view> keys;
  keys.reserve(request.mutations_size());
  for (int i = 0; i < request.mutations_size(); ++i) {
    const auto& m = request.mutations(i);
    std::string field = absl::StrCat("mutations[", i, "]");
    if (auto s = ValidateMutation(limits, m, field, now_unix); !s.ok()) return s;
    const std::string& key = CommitMutationKey(m);
    if (!keys.insert(key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " mutates key ", QuotedKey(key),
                       " again; each key may be mutated once per commit"));
    }
    bytes += key.size();
    if (m.has_put()) bytes += m.put().value().size() + m.put().metadata().size();
  }
  if (bytes > limits.max_commit_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the commit is ", bytes, " bytes of keys, values and metadata (",
                     FormatByteSize(bytes), "), over the limit of ", limits.max_commit_bytes,
                     " bytes (", FormatByteSize(limits.max_commit_bytes), ") per commit"));
  }
  return absl::OkStatus();
}

absl::Status ValidateFetch(const Limits& limits, const kvstore::v1::FetchRequest& request) {
  if (auto s = ValidateKey(limits, request.key()); !s.ok()) return s;
  return ValidateReadOptions(request.options());
}

}  // namespace kv::server

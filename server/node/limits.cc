#include "server/node/limits.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/units.h"

namespace kv::server {

absl::Status ValidateKey(const Limits& limits, const std::string& key, const char* field) {
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
  if (request.keys_size() == 0) {
    return absl::InvalidArgumentError("keys is empty (BatchGet takes 1..100 keys)");
  }
  if (static_cast<uint64_t>(request.keys_size()) > limits.max_batch_keys) {
    return absl::InvalidArgumentError(absl::StrCat(
        "keys has ", request.keys_size(), " keys, over the limit of ", limits.max_batch_keys));
  }
  for (int i = 0; i < request.keys_size(); ++i) {
    std::string field = absl::StrCat("keys[", i, "]");
    if (auto s = ValidateKey(limits, request.keys(i), field.c_str()); !s.ok()) return s;
  }
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

absl::Status ValidateFetch(const Limits& limits, const kvstore::v1::FetchRequest& request) {
  if (auto s = ValidateKey(limits, request.key()); !s.ok()) return s;
  return ValidateReadOptions(request.options());
}

}  // namespace kv::server

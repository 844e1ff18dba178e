#pragma once
// Request limits and their validation. Every node validates locally, so bad requests never
// leave an edge; the central node validates again (it is the authority).

#include <cstdint>
#include <iterator>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "kvstore/v1/kv.pb.h"
#include "kvstore/v1/replication.pb.h"

namespace kv::server {

// Latest expiration a write may ask for, absolute Unix seconds (9999-12-31T23:59:59Z): later
// than any real use, and early enough that now + ttl_seconds cannot overflow.
inline constexpr int64_t kMaxExpirationUnix = 253'402'300'799;

struct Limits {
  // Keys are 1..max_key_bytes bytes.
  uint64_t max_key_bytes = 512;
  // Values are at most this large (25 MiB); gRPC message limits are set to match.
  uint64_t max_value_bytes = 25ull << 20;
  // Metadata is at most this large.
  uint64_t max_metadata_bytes = 1024;
  // Shortest TTL accepted, in seconds.
  int64_t min_ttl_seconds = 1;
  // Most keys in one BatchGet.
  uint64_t max_batch_keys = 100;
  // Most entries in one List page, and the page size when none is asked for.
  uint32_t max_list_limit = 1000;
  uint32_t default_list_limit = 100;
  // Most mutations in one Commit.
  uint64_t max_commit_mutations = 1000;
  // Most bytes of keys, values and metadata in one Commit (10 MiB).
  uint64_t max_commit_bytes = 10ull << 20;

  // The gRPC max message size that lets the largest legal request and reply through.
  int MaxMessageBytes() const {
    return static_cast<int>(max_value_bytes + max_metadata_bytes + max_key_bytes + (1 << 20));
  }
};

// A key for an error message: quoted, C-escaped, its first 64 bytes then "...".
std::string QuotedKey(absl::string_view key);

absl::Status ValidateKey(const Limits& limits, absl::string_view key, const char* field = "key");
absl::Status ValidateReadOptions(const kvstore::v1::ReadOptions& options);
absl::Status ValidateGet(const Limits& limits, const kvstore::v1::GetRequest& request);
absl::Status ValidateBatchGet(const Limits& limits, const kvstore::v1::BatchGetRequest& request);
// BatchGet's keys alone (1..max_batch_keys valid keys), for any range of string-like keys: the
// request's, or the Redis front end's MGET before it builds one.
template <typename Keys>
absl::Status ValidateBatchKeys(const Limits& limits, const Keys& keys) {
  const size_t n = std::size(keys);
  if (n == 0) return absl::InvalidArgumentError("keys is empty (BatchGet takes 1..100 keys)");
  if (n > limits.max_batch_keys) {
    return absl::InvalidArgumentError(
        absl::StrCat("keys has ", n, " keys, over the limit of ", limits.max_batch_keys));
  }
  size_t i = 0;
  for (const auto& key : keys) {
    if (!ValidateKey(limits, key).ok()) {
      // The field's name only for the error: BatchGet is on the read path.
      const std::string field = absl::StrCat("keys[", i, "]");
      return ValidateKey(limits, key, field.c_str());
    }
    ++i;
  }
  return absl::OkStatus();
}
// `now_unix` judges an absolute expiration in the past.
absl::Status ValidatePut(const Limits& limits, const kvstore::v1::PutRequest& request,
                         int64_t now_unix);
absl::Status ValidateDelete(const Limits& limits, const kvstore::v1::DeleteRequest& request);
absl::Status ValidateList(const Limits& limits, const kvstore::v1::ListRequest& request);
// The key a commit mutation changes (empty when it has no operation).
const std::string& CommitMutationKey(const kvstore::v1::CommitMutation& mutation);
// Every mutation as Put/Delete would be, plus: 1..max_commit_mutations mutations, no key mutated
// twice, no if_version (checks say it), each check either a version or absent, and at most
// max_commit_bytes in all.
absl::Status ValidateCommit(const Limits& limits, const kvstore::v1::CommitRequest& request,
                            int64_t now_unix);
absl::Status ValidateFetch(const Limits& limits, const kvstore::v1::FetchRequest& request);

}  // namespace kv::server

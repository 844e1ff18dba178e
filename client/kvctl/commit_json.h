#pragma once
// The JSON form of a commit, read by `kvctl commit` (and the HTTP gateway's POST /v1/commit
// documents the same shape):
//   {"checks": [{"key": "acct/a", "version": 17}, {"key": "acct/b", "absent": true}],
//    "mutations": [{"put": {"key": "acct/a", "value": "10", "ttl": "1h"}},
//                  {"delete": {"key": "acct/c"}},
//                  {"add": {"key": "hits/today", "delta": 1}}]}
// Keys, values and metadata as in bulk-put lines (`key` or `key_base64`, ...). Unknown fields
// are errors. Stateless functions.

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kv/client.h"

namespace kv::kvctl {

struct CommitSpec {
  std::vector<client::CommitCheck> checks;
  std::vector<client::CommitMutation> mutations;
};

// Parses one JSON object; the error names the element and field ("mutations[2].add.delta: ...").
absl::StatusOr<CommitSpec> ParseCommitJson(absl::string_view text);

}  // namespace kv::kvctl

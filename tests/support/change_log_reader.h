#pragma once
// Reads a node's change log over Replication.Subscribe, as a downstream would: for tests that
// compare what a node committed with what clients were told.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kvstore/v1/replication.pb.h"

namespace kv::testing {

// Subscribes to `address` from `from_version` and collects changes until `until_version` is
// reached (0 = the head announced at stream start) or `timeout` passes. A RESET is an error.
absl::StatusOr<std::vector<kvstore::v1::Change>> ReadChangeLog(const std::string& address,
                                                               uint64_t from_version,
                                                               uint64_t until_version = 0,
                                                               absl::Duration timeout =
                                                                   absl::Seconds(30));

}  // namespace kv::testing

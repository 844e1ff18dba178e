#pragma once
// The downstream's handling of one Subscribe stream, message by message, without the network:
// checks that the stream starts properly, applies change batches only when they continue the
// applied version exactly, and feeds ping answers to the freshness tracker. The Subscriber
// owns the connection; this owns the rules (and is what the unit tests and the fuzzer drive).

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "kvstore/v1/replication.pb.h"
#include "replication/change_applier.h"
#include "replication/freshness.h"

namespace kv::replication {

// DATA_LOSS unless `change` is a well-formed stream change: a put, delete or invalidation of a
// non-empty key, or a commit of at least one such part, each part for a different key.
absl::Status CheckChangeShape(const kvstore::v1::Change& change);

class StreamReceiver {
 public:
  // `from_version` is what the hello asked for; 0 = "from the upstream's head" (a cache edge
  // starting over through `head`, which is null for a downstream that holds every key).
  // `on_applied` runs after every applied batch. `self_node_id` (empty: not checked) is this
  // node's id: a stream start whose chain names it is a replication cycle and is refused.
  StreamReceiver(ChangeApplier* applier, HeadFollower* head, FreshnessTracker* freshness,
                 uint64_t from_version, std::function<void(uint64_t)> on_applied = nullptr,
                 std::string self_node_id = "");

  // Handles one message (its changes may be moved out). Returns:
  //   OK           keep reading
  //   ABORTED      the upstream answered RESET (see reset())
  //   DATA_LOSS    a gap, a reordering or a malformed message: nothing of it was applied
  //   FAILED_PRECONDITION  this node is its own upstream's ancestor (a replication cycle)
  //   other        the applier failed
  absl::Status Handle(kvstore::v1::UpstreamMessage* message);

  bool started() const { return started_; }
  // True when the stream continued the downstream's own history (not a start from the head).
  bool resumed() const { return started_ && from_version_ != 0; }
  const kvstore::v1::StreamStart& start() const { return start_; }
  const kvstore::v1::Reset& reset() const { return reset_; }
  uint64_t changes_applied() const { return changes_applied_; }
  uint64_t batches_applied() const { return batches_applied_; }

 private:
  absl::Status HandleStart(const kvstore::v1::StreamStart& start);
  absl::Status HandleChanges(kvstore::v1::UpstreamMessage* message);

  ChangeApplier* const applier_;
  HeadFollower* const head_;
  FreshnessTracker* const freshness_;
  const uint64_t from_version_;
  const std::function<void(uint64_t)> on_applied_;
  const std::string self_node_id_;
  bool started_ = false;
  kvstore::v1::StreamStart start_;
  kvstore::v1::Reset reset_;
  uint64_t changes_applied_ = 0;
  uint64_t batches_applied_ = 0;
};

}  // namespace kv::replication

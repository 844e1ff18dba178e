#pragma once
// Collects the outcome of every completed request from many threads: latency histograms per
// operation, errors by gRPC status code, not-found answers. Only operations that complete inside
// the measurement window are counted; the window opens after the warm-up and closes at the end of
// the duration or when the operation budget is used up.

#include <grpcpp/support/status.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "bench/kvbench/histogram.h"

namespace kv::kvbench {

enum class OpKind { kGet = 0, kPut = 1, kBatchGet = 2 };
inline constexpr int kOpKinds = 3;
const char* OpKindName(OpKind kind);

// Monotonic nanoseconds (steady clock).
int64_t NowNanos();

// Everything measured in the window, merged over all shards.
struct Measurement {
  double seconds = 0;                          // length of the window
  std::array<Histogram, kOpKinds> latency_ns;  // successful operations only
  Histogram all_ns;                            // every successful operation
  uint64_t ok_ops = 0;
  uint64_t keys_read = 0;  // Gets + keys of BatchGets, successful
  uint64_t not_found = 0;  // keys read that did not exist
  std::map<grpc::StatusCode, uint64_t> errors;
  std::map<grpc::StatusCode, std::string> first_error;  // one message per code
  uint64_t error_count() const;
};

class Recorder {
 public:
  explicit Recorder(int shards = 16);

  // Opens the window at `now_ns`. With `op_limit` > 0 the window closes by itself at the
  // completion of the op_limit-th counted operation (successes and errors alike).
  void BeginMeasure(int64_t now_ns, uint64_t op_limit = 0);
  // Closes the window (if still open) at `now_ns`.
  void EndMeasure(int64_t now_ns);
  // Waits up to `timeout` for the op limit to be reached; true when it was.
  bool WaitForOpLimit(absl::Duration timeout);

  // One finished request. `shard` is any small integer (the slot number), spreading the locks.
  // `keys` and `not_found` count the keys of a read; 0 for writes.
  void Record(int shard, OpKind kind, int64_t start_ns, int64_t end_ns, const grpc::Status& status,
              uint64_t keys, uint64_t not_found);

  // Live counters over all phases, for progress lines.
  uint64_t completed() const { return completed_.load(std::memory_order_relaxed); }
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

  // Merges the shards. Call after the load has stopped.
  Measurement Collect() const;

 private:
  struct Shard {
    absl::Mutex mu;
    std::array<Histogram, kOpKinds> latency ABSL_GUARDED_BY(mu);
    uint64_t keys_read ABSL_GUARDED_BY(mu) = 0;
    uint64_t not_found ABSL_GUARDED_BY(mu) = 0;
    std::map<grpc::StatusCode, uint64_t> errors ABSL_GUARDED_BY(mu);
    std::map<grpc::StatusCode, std::string> first_error ABSL_GUARDED_BY(mu);
  };

  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<int64_t> window_start_{INT64_MAX};
  std::atomic<int64_t> window_end_{INT64_MAX};
  std::atomic<uint64_t> op_limit_{0};
  std::atomic<uint64_t> counted_{0};
  absl::Notification limit_reached_;
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> failed_{0};
};

}  // namespace kv::kvbench

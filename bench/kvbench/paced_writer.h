#pragma once
// Open-loop background writes at a fixed rate: write i is due at start + i / rate whether or not
// earlier writes have finished (up to a cap on writes in flight; a due write over the cap is
// skipped and counted). Latency is measured from when a write was due, not when it was sent, so
// a stalled server shows up in the figures instead of silently lowering the rate.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/kvbench/histogram.h"
#include "bench/kvbench/keys.h"
#include "kvstore/v1/kv.grpc.pb.h"

namespace kv::kvbench {

struct PacedWriterOptions {
  // Writes per second; 0 = none.
  double rate = 5000;
  // Writes in flight at most; due writes beyond it are skipped.
  int max_outstanding = 1000;
  // Bytes of every value.
  uint64_t value_size = 100;
  // Deadline of every write.
  absl::Duration timeout = absl::Seconds(5);
  uint64_t seed = 1;
};

struct PacedWriterStats {
  double seconds = 0;  // from Start to Stop
  uint64_t due = 0;
  uint64_t ok = 0;
  uint64_t errors = 0;
  uint64_t skipped = 0;
  std::string first_error;
  Histogram latency_ns;  // from due time to acknowledgement, successful writes
};

class PacedWriter {
 public:
  // `keys` must outlive the writer.
  PacedWriter(std::shared_ptr<grpc::Channel> channel, const KeySpace* keys,
              const PacedWriterOptions& options);
  ~PacedWriter();

  void Start();
  // Stops issuing and waits (up to the write deadline) for the writes in flight.
  void Stop();
  // Live: writes acknowledged so far.
  uint64_t acknowledged() const { return acknowledged_.load(std::memory_order_relaxed); }
  PacedWriterStats stats() const;

 private:
  struct Call;
  void Loop();
  void Issue(int64_t due_ns);
  void Finish(Call* call, const grpc::Status& status);

  const std::unique_ptr<kvstore::v1::KV::Stub> stub_;
  const KeySpace* const keys_;
  const PacedWriterOptions options_;
  std::string value_;
  std::mt19937_64 rng_;  // writer thread only
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> acknowledged_{0};
  int64_t start_ns_ = 0;

  mutable absl::Mutex mu_;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  PacedWriterStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::kvbench

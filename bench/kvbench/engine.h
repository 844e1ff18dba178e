#pragma once
// The closed-loop load engine: `concurrency` slots, each with one request in flight, spread over
// the connections. When a request completes its slot records the outcome and immediately starts
// the next one, so the number of outstanding requests stays constant. Two ways to drive the
// slots: the generic async API (a CompletionQueue per thread we own) or the callback API (gRPC's
// own threads run the completions).

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "bench/kvbench/connections.h"
#include "bench/kvbench/keys.h"
#include "bench/kvbench/options.h"
#include "bench/kvbench/recorder.h"

namespace kv::kvbench {

class Slot;

class LoadEngine {
 public:
  // `preload`: instead of the workload, write keys 0..n-1 once each, in order, then finish.
  // Everything passed in must outlive the engine.
  LoadEngine(const LoadOptions& options, const KeySpace* keys, const Connections* connections,
             Recorder* recorder, bool preload);
  ~LoadEngine();  // stops and waits
  LoadEngine(const LoadEngine&) = delete;
  LoadEngine& operator=(const LoadEngine&) = delete;

  // Starts every slot.
  void Start();
  // Lets the requests in flight finish and starts no new ones.
  void Stop();
  // Waits up to `timeout` until every slot has finished (after Stop, or the end of a preload).
  bool WaitDone(absl::Duration timeout);
  // Keys handed out so far by a preload.
  uint64_t preload_issued() const;

 private:
  friend class Slot;
  // Called by a slot that will start no more requests.
  void SlotFinished();

  const LoadOptions& options_;
  const KeySpace* const keys_;
  const bool preload_;
  Recorder* const recorder_;
  // The bytes of every written value: random, so RocksDB cannot compress them away.
  std::string value_;
  std::vector<std::unique_ptr<grpc::CompletionQueue>> cqs_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<bool> stop_{false};
  std::atomic<int> active_{0};
  std::atomic<uint64_t> next_preload_{0};
  absl::Notification done_;
  bool started_ = false;
};

}  // namespace kv::kvbench

#pragma once
// Runs a function every `interval` on its own thread until stopped. Stop() wakes the thread at
// once instead of waiting out the interval, so shutdown is prompt.

#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kv {

class PeriodicTask {
 public:
  PeriodicTask(std::string name, absl::Duration interval, std::function<void()> fn);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // Runs the function soon instead of at the next tick.
  void Poke();
  // Waits for a running call to finish and stops; idempotent.
  void Stop();

 private:
  void Loop();

  const std::string name_;
  const absl::Duration interval_;
  const std::function<void()> fn_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool poked_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kv

#include "common/periodic_task.h"

namespace kv {

PeriodicTask::PeriodicTask(std::string name, absl::Duration interval, std::function<void()> fn)
    : name_(std::move(name)), interval_(interval), fn_(std::move(fn)) {
  thread_ = std::thread([this] { Loop(); });
}

PeriodicTask::~PeriodicTask() { Stop(); }

void PeriodicTask::Poke() {
  absl::MutexLock l(&mu_);
  poked_ = true;
}

void PeriodicTask::Stop() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void PeriodicTask::Loop() {
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || poked_; };
      mu_.AwaitWithTimeout(absl::Condition(&wake), interval_);
      if (stop_) return;
      poked_ = false;
    }
    fn_();
  }
}

}  // namespace kv

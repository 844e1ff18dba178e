#pragma once
// For tests: one thread that runs posted tasks in order, so tests can complete requests "from
// another thread" without detaching threads. The destructor runs what is queued, then joins.

#include <deque>
#include <functional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kv::server::testing {

class TestWorker {
 public:
  TestWorker() : thread_([this] { Loop(); }) {}
  ~TestWorker() {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    thread_.join();
  }

  // Runs `task` on the worker thread after `delay`.
  void Post(absl::AnyInvocable<void() &&> task, absl::Duration delay = absl::ZeroDuration()) {
    absl::MutexLock lock(&mu_);
    tasks_.emplace_back(absl::Now() + delay, std::move(task));
  }

 private:
  void Loop() {
    while (true) {
      absl::AnyInvocable<void() &&> task;
      absl::Time when;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return done_ || !tasks_.empty(); };
        mu_.Await(absl::Condition(&ready));
        if (tasks_.empty()) return;  // done_ and drained
        when = tasks_.front().first;
        task = std::move(tasks_.front().second);
        tasks_.pop_front();
      }
      const absl::Duration wait = when - absl::Now();
      if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
      std::move(task)();
    }
  }

  absl::Mutex mu_;
  std::deque<std::pair<absl::Time, absl::AnyInvocable<void() &&>>> tasks_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace kv::server::testing

#pragma once
// Runs the node calls of one multi-key command (MGET in chunks of BatchGet, DEL of many keys),
// at most `window` at a time. The node may complete a call on any thread or inline, inside
// Issue: completions never recurse into Issue (a completion that arrives while another thread,
// or the same stack, is issuing only counts itself), so a command of 10,000 chunks that all
// complete inline uses constant stack.
//
// Ownership: Run takes the object; it deletes itself right after Finish. Thread-safe.

#include <cstddef>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/node/node.h"

namespace kv::server::resp {

class Fanout {
 public:
  virtual ~Fanout() = default;

  // Issues calls 0..count-1 and, when they all finished (or one failed and the calls in flight
  // finished), calls Finish once with OK or the first error.
  static void Run(std::unique_ptr<Fanout> fanout);

 protected:
  Fanout(size_t count, size_t window) : count_(count), window_(window < 1 ? 1 : window) {}

  // Starts call `index`; `done` must be called exactly once, from any thread.
  virtual void Issue(size_t index, Done done) = 0;
  // The last thing that happens to this object.
  virtual void Finish(absl::Status status) = 0;

 private:
  void OnDone(absl::Status status);
  // Issues what the window allows; finishes when everything is done. Called with pumping_ set.
  void Pump() ABSL_LOCKS_EXCLUDED(mu_);

  const size_t count_;
  const size_t window_;
  absl::Mutex mu_;
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool pumping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::server::resp

#include "server/resp/fanout.h"

#include <utility>

namespace kv::server::resp {

void Fanout::Run(std::unique_ptr<Fanout> fanout) {
  Fanout* self = fanout.release();
  {
    absl::MutexLock lock(&self->mu_);
    self->pumping_ = true;
  }
  self->Pump();
}

void Fanout::OnDone(absl::Status status) {
  {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    if (!status.ok() && error_.ok()) error_ = std::move(status);
    if (pumping_) return;  // the thread issuing calls sees this when it looks again
    pumping_ = true;
  }
  Pump();
}

void Fanout::Pump() {
  mu_.Lock();
  while (true) {
    if (error_.ok() && next_ < count_ && in_flight_ < window_) {
      const size_t index = next_++;
      ++in_flight_;
      mu_.Unlock();
      Issue(index, [this](absl::Status s) { OnDone(std::move(s)); });
      mu_.Lock();
      continue;
    }
    if (in_flight_ == 0 && (next_ == count_ || !error_.ok())) {
      absl::Status status = error_;
      mu_.Unlock();
      Finish(std::move(status));
      delete this;
      return;
    }
    pumping_ = false;  // calls in flight will pump when they complete
    mu_.Unlock();
    return;
  }
}

}  // namespace kv::server::resp

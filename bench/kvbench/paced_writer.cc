#include "bench/kvbench/paced_writer.h"

#include "bench/kvbench/recorder.h"

namespace kv::kvbench {

struct PacedWriter::Call {
  grpc::ClientContext ctx;
  kvstore::v1::PutRequest request;
  kvstore::v1::PutResponse response;
  int64_t due_ns = 0;
};

PacedWriter::PacedWriter(std::shared_ptr<grpc::Channel> channel, const KeySpace* keys,
                         const PacedWriterOptions& options)
    : stub_(kvstore::v1::KV::NewStub(channel)), keys_(keys), options_(options), rng_(options.seed) {
  value_.resize(options.value_size);
  for (char& c : value_) c = static_cast<char>('a' + rng_() % 26);
}

PacedWriter::~PacedWriter() { Stop(); }

void PacedWriter::Start() {
  if (options_.rate <= 0) return;
  start_ns_ = NowNanos();
  thread_ = std::thread([this] { Loop(); });
}

void PacedWriter::Loop() {
  const double ns_per_write = 1e9 / options_.rate;
  uint64_t next = 0;  // index of the next write; write i is due at start + i * ns_per_write
  while (!stop_.load()) {
    const int64_t now = NowNanos();
    // Everything due by now goes out at once (the sleep below can overshoot a short interval).
    const uint64_t due = static_cast<uint64_t>((now - start_ns_) / ns_per_write) + 1;
    for (; next < due; ++next) Issue(start_ns_ + static_cast<int64_t>(next * ns_per_write));
    const int64_t wait = start_ns_ + static_cast<int64_t>(next * ns_per_write) - NowNanos();
    if (wait > 0) absl::SleepFor(absl::Nanoseconds(wait));
  }
}

void PacedWriter::Issue(int64_t due_ns) {
  {
    absl::MutexLock lock(&mu_);
    ++stats_.due;
    if (outstanding_ >= options_.max_outstanding) {
      ++stats_.skipped;
      return;
    }
    ++outstanding_;
  }
  auto* call = new Call;
  call->due_ns = due_ns;
  keys_->Format(keys_->Choose(rng_), call->request.mutable_key());
  call->request.set_value(value_);
  call->ctx.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMicroseconds(options_.timeout));
  stub_->async()->Put(&call->ctx, &call->request, &call->response,
                      [this, call](grpc::Status status) { Finish(call, status); });
}

void PacedWriter::Finish(Call* call, const grpc::Status& status) {
  const int64_t now = NowNanos();
  if (status.ok()) acknowledged_.fetch_add(1, std::memory_order_relaxed);
  {
    absl::MutexLock lock(&mu_);
    --outstanding_;
    if (status.ok()) {
      ++stats_.ok;
      stats_.latency_ns.Record(static_cast<uint64_t>(std::max<int64_t>(0, now - call->due_ns)));
    } else {
      if (++stats_.errors == 1) stats_.first_error = status.error_message();
    }
  }
  delete call;
}

void PacedWriter::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  thread_.join();
  const int64_t stopped = NowNanos();
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return outstanding_ == 0; };
  // Every write has a deadline, so this wait is bounded.
  mu_.Await(absl::Condition(&idle));
  stats_.seconds = (stopped - start_ns_) / 1e9;
}

PacedWriterStats PacedWriter::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace kv::kvbench

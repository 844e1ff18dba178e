#include "bench/kvbench/recorder.h"

#include <chrono>

namespace kv::kvbench {

const char* OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kGet:
      return "get";
    case OpKind::kPut:
      return "put";
    case OpKind::kBatchGet:
      return "batch_get";
  }
  return "?";
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t Measurement::error_count() const {
  uint64_t n = 0;
  for (const auto& [code, count] : errors) n += count;
  return n;
}

Recorder::Recorder(int shards) {
  for (int i = 0; i < std::max(1, shards); ++i) shards_.push_back(std::make_unique<Shard>());
}

void Recorder::BeginMeasure(int64_t now_ns, uint64_t op_limit) {
  op_limit_.store(op_limit);
  counted_.store(0);
  window_start_.store(now_ns);
}

void Recorder::EndMeasure(int64_t now_ns) {
  int64_t open = INT64_MAX;
  window_end_.compare_exchange_strong(open, now_ns);
}

bool Recorder::WaitForOpLimit(absl::Duration timeout) {
  return limit_reached_.WaitForNotificationWithTimeout(timeout);
}

void Recorder::Record(int shard, OpKind kind, int64_t start_ns, int64_t end_ns,
                      const grpc::Status& status, uint64_t keys, uint64_t not_found) {
  completed_.fetch_add(1, std::memory_order_relaxed);
  if (!status.ok()) failed_.fetch_add(1, std::memory_order_relaxed);
  if (end_ns < window_start_.load(std::memory_order_acquire) ||
      end_ns >= window_end_.load(std::memory_order_acquire)) {
    return;
  }
  if (const uint64_t limit = op_limit_.load(std::memory_order_relaxed); limit > 0) {
    const uint64_t n = counted_.fetch_add(1) + 1;
    if (n > limit) return;
    if (n == limit) {
      EndMeasure(end_ns + 1);  // this operation is the last one inside
      limit_reached_.Notify();
    }
  }
  Shard& s = *shards_[static_cast<size_t>(shard) % shards_.size()];
  absl::MutexLock lock(&s.mu);
  if (status.ok()) {
    s.latency[static_cast<int>(kind)].Record(static_cast<uint64_t>(end_ns - start_ns));
    s.keys_read += keys;
    s.not_found += not_found;
  } else {
    if (++s.errors[status.error_code()] == 1) {
      s.first_error[status.error_code()] = status.error_message();
    }
  }
}

Measurement Recorder::Collect() const {
  Measurement m;
  const int64_t start = window_start_.load(), end = window_end_.load();
  if (start != INT64_MAX && end != INT64_MAX && end > start) m.seconds = (end - start) / 1e9;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    for (int k = 0; k < kOpKinds; ++k) m.latency_ns[k].Merge(shard->latency[k]);
    m.keys_read += shard->keys_read;
    m.not_found += shard->not_found;
    for (const auto& [code, n] : shard->errors) m.errors[code] += n;
    for (const auto& [code, msg] : shard->first_error) m.first_error.emplace(code, msg);
  }
  for (const auto& h : m.latency_ns) {
    m.all_ns.Merge(h);
    m.ok_ops += h.count();
  }
  return m;
}

}  // namespace kv::kvbench

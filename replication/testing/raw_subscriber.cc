#include "replication/testing/raw_subscriber.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace kv::testing {

using kvstore::v1::DownstreamMessage;
using kvstore::v1::UpstreamMessage;

std::string RawSubscriber::NextNodeId() {
  static std::atomic<int> next{0};
  return absl::StrCat("raw-", next.fetch_add(1) + 1);
}

RawSubscriber::RawSubscriber(kvstore::v1::Replication::Stub* stub, Hello hello, bool read) {
  stream_ = stub->Subscribe(&context_);
  DownstreamMessage m;
  m.mutable_hello()->set_from_version(hello.from_version);
  m.mutable_hello()->set_cluster_id(hello.cluster_id);
  m.mutable_hello()->set_node_id(hello.node_id);
  m.mutable_hello()->set_address(hello.address);
  m.mutable_hello()->set_mode(hello.mode);
  Send(m);
  if (read) StartReading();
}

RawSubscriber::~RawSubscriber() { Cancel(); }

bool RawSubscriber::Send(const DownstreamMessage& message) {
  absl::MutexLock l(&write_mu_);
  if (finished_) return false;
  return stream_->Write(message);
}

bool RawSubscriber::Ping(int64_t t0_micros, uint64_t applied_version) {
  DownstreamMessage m;
  m.mutable_ping()->set_t0_micros(t0_micros);
  m.mutable_ping()->set_applied_version(applied_version);
  return Send(m);
}

void RawSubscriber::StartReading() {
  if (!reader_.joinable()) reader_ = std::thread([this] { ReadLoop(); });
}

void RawSubscriber::Cancel() {
  context_.TryCancel();
  StartReading();  // the reader finishes the call once its read fails
  if (reader_.joinable()) reader_.join();
}

void RawSubscriber::ReadLoop() {
  UpstreamMessage m;
  while (stream_->Read(&m)) {
    absl::MutexLock l(&mu_);
    for (const auto& c : m.changes()) last_version_ = c.version();
    received_.push_back(Received{m, absl::Now()});
  }
  grpc::Status status;
  {
    absl::MutexLock l(&write_mu_);
    finished_ = true;
    status = stream_->Finish();
  }
  absl::MutexLock l(&mu_);
  status_ = status;
  ended_ = true;
}

std::vector<RawSubscriber::Received> RawSubscriber::received() const {
  absl::MutexLock l(&mu_);
  return received_;
}

std::vector<kvstore::v1::Change> RawSubscriber::changes() const {
  absl::MutexLock l(&mu_);
  std::vector<kvstore::v1::Change> out;
  for (const auto& r : received_) {
    for (const auto& c : r.message.changes()) out.push_back(c);
  }
  return out;
}

uint64_t RawSubscriber::last_version() const {
  absl::MutexLock l(&mu_);
  return last_version_;
}

bool RawSubscriber::WaitVersion(uint64_t version, absl::Duration timeout) const {
  absl::MutexLock l(&mu_);
  auto reached = [this, version]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return last_version_ >= version || ended_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  return last_version_ >= version;
}

bool RawSubscriber::WaitUntil(const std::function<bool(const std::vector<Received>&)>& pred,
                              absl::Duration timeout) const {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (pred(received_)) return true;
      if (ended_) return false;
    }
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
}

bool RawSubscriber::WaitEnded(absl::Duration timeout) const {
  absl::MutexLock l(&mu_);
  auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ended_; };
  return mu_.AwaitWithTimeout(absl::Condition(&ended), timeout);
}

grpc::Status RawSubscriber::status() const {
  absl::MutexLock l(&mu_);
  return status_;
}

}  // namespace kv::testing

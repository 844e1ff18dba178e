#include "tests/support/watch_reader.h"

#include <chrono>

namespace kv::testing {

WatchReader::WatchReader(const std::string& address, const kvstore::v1::WatchRequest& request,
                         const std::string& token, absl::Duration deadline) {
  stub_ =
      kvstore::v1::KV::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  context_.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  if (!token.empty()) context_.AddMetadata("authorization", "Bearer " + token);
  auto reader = stub_->Watch(&context_, request);
  thread_ = std::thread([this, r = std::move(reader)]() mutable { Run(std::move(r)); });
}

WatchReader::~WatchReader() {
  context_.TryCancel();
  thread_.join();
}

void WatchReader::Run(std::unique_ptr<grpc::ClientReader<kvstore::v1::WatchResponse>> reader) {
  kvstore::v1::WatchResponse response;
  while (reader->Read(&response)) {
    absl::MutexLock l(&mu_);
    messages_.push_back(response);
  }
  grpc::Status status = reader->Finish();
  absl::MutexLock l(&mu_);
  status_ = status;
  ended_ = true;
}

bool WatchReader::WaitForEvents(int n, absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int total = 0;
    for (const auto& m : messages_) total += m.events_size();
    return total >= n || ended_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  int total = 0;
  for (const auto& m : messages_) total += m.events_size();
  return total >= n;
}

bool WatchReader::WaitStarted(absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !messages_.empty() || ended_; };
  mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  return !messages_.empty();
}

bool WatchReader::WaitApplied(uint64_t version, absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ended_ || (!messages_.empty() && messages_.back().applied_version() >= version);
  };
  mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  return !messages_.empty() && messages_.back().applied_version() >= version;
}

grpc::Status WatchReader::WaitEnd(absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  if (!mu_.AwaitWithTimeout(absl::Condition(&ended_), timeout)) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "the watch did not end in time");
  }
  return status_;
}

void WatchReader::Cancel() {
  context_.TryCancel();
  WaitEnd();
}

std::vector<kvstore::v1::WatchResponse> WatchReader::messages() {
  absl::MutexLock l(&mu_);
  return messages_;
}

std::vector<kvstore::v1::WatchEvent> WatchReader::events() {
  absl::MutexLock l(&mu_);
  std::vector<kvstore::v1::WatchEvent> out;
  for (const auto& m : messages_) out.insert(out.end(), m.events().begin(), m.events().end());
  return out;
}

uint64_t WatchReader::applied_version() {
  absl::MutexLock l(&mu_);
  return messages_.empty() ? 0 : messages_.back().applied_version();
}

std::string WatchReader::Trailer(const std::string& key) {
  absl::MutexLock l(&mu_);
  if (!ended_) return "";
  const auto& trailers = context_.GetServerTrailingMetadata();
  auto it = trailers.find(key);
  return it == trailers.end() ? "" : std::string(it->second.data(), it->second.size());
}

}  // namespace kv::testing

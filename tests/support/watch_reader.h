#pragma once
// Reads one KV.Watch stream on its own thread, for tests: every message is kept, and the end
// (status and trailing metadata) once the stream is over. Bounded: the call has a deadline.

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kvstore/v1/kv.grpc.pb.h"

namespace kv::testing {

class WatchReader {
 public:
  // Starts watching `request` at `address`; `token` (if any) goes in `authorization`.
  WatchReader(const std::string& address, const kvstore::v1::WatchRequest& request,
              const std::string& token = "", absl::Duration deadline = absl::Seconds(60));
  // Cancels the call and joins the reader.
  ~WatchReader();

  // Waits until `n` events (over all messages) arrived, or the stream ended, or `timeout`.
  bool WaitForEvents(int n, absl::Duration timeout = absl::Seconds(20));
  // Waits for the first message (the watch is registered).
  bool WaitStarted(absl::Duration timeout = absl::Seconds(20));
  // Waits for a message with applied_version >= `version`.
  bool WaitApplied(uint64_t version, absl::Duration timeout = absl::Seconds(20));
  // Waits until the stream is over and returns its status.
  grpc::Status WaitEnd(absl::Duration timeout = absl::Seconds(20));
  // Cancels the call (a disconnect) and waits for the end.
  void Cancel();

  std::vector<kvstore::v1::WatchResponse> messages();
  std::vector<kvstore::v1::WatchEvent> events();
  // The last applied_version received (0 before any message).
  uint64_t applied_version();
  // A trailing metadata value of the ended stream ("" if absent).
  std::string Trailer(const std::string& key);

 private:
  void Run(std::unique_ptr<grpc::ClientReader<kvstore::v1::WatchResponse>> reader);

  std::unique_ptr<kvstore::v1::KV::Stub> stub_;
  grpc::ClientContext context_;
  absl::Mutex mu_;
  std::vector<kvstore::v1::WatchResponse> messages_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace kv::testing

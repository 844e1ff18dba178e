#pragma once
// A raw Subscribe stream for publisher tests: sends the hello and pings by hand and records
// every upstream message with its arrival time, on a reader thread that can be started late
// (a subscriber that stops reading).

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kvstore/v1/replication.grpc.pb.h"

namespace kv::testing {

class RawSubscriber {
 public:
  struct Received {
    kvstore::v1::UpstreamMessage message;
    absl::Time at;
  };
  struct Hello {
    uint64_t from_version = 1;
    std::string cluster_id;
    // Unique per subscriber unless set: an upstream keeps one stream per node id.
    std::string node_id = NextNodeId();
    std::string address = "127.0.0.1:9";
    std::string mode = "full";

    Hello& set_from_version(uint64_t v) { return from_version = v, *this; }
    Hello& set_cluster_id(std::string v) { return cluster_id = std::move(v), *this; }
    Hello& set_node_id(std::string v) { return node_id = std::move(v), *this; }
    Hello& set_address(std::string v) { return address = std::move(v), *this; }
    Hello& set_mode(std::string v) { return mode = std::move(v), *this; }
  };

  // "raw-1", "raw-2", ...
  static std::string NextNodeId();

  // Opens the stream and sends the hello; reads at once unless `read` is false.
  RawSubscriber(kvstore::v1::Replication::Stub* stub, Hello hello, bool read = true);
  RawSubscriber(kvstore::v1::Replication::Stub* stub, uint64_t from_version, bool read = true)
      : RawSubscriber(stub, Hello().set_from_version(from_version), read) {}
  // Cancels the stream and joins the reader.
  ~RawSubscriber();

  bool Ping(int64_t t0_micros, uint64_t applied_version);
  bool Send(const kvstore::v1::DownstreamMessage& message);
  void StartReading();
  void Cancel();

  std::vector<Received> received() const;
  // Every change received, in arrival order.
  std::vector<kvstore::v1::Change> changes() const;
  uint64_t last_version() const;
  // Waits until the last version received is >= `version`.
  bool WaitVersion(uint64_t version, absl::Duration timeout) const;
  // Waits until `pred(received())` holds.
  bool WaitUntil(const std::function<bool(const std::vector<Received>&)>& pred,
                 absl::Duration timeout) const;
  // Waits for the stream to end and returns its status.
  bool WaitEnded(absl::Duration timeout) const;
  grpc::Status status() const;

 private:
  void ReadLoop();

  grpc::ClientContext context_;
  std::unique_ptr<
      grpc::ClientReaderWriter<kvstore::v1::DownstreamMessage, kvstore::v1::UpstreamMessage>>
      stream_;
  absl::Mutex write_mu_;
  bool finished_ ABSL_GUARDED_BY(write_mu_) = false;
  mutable absl::Mutex mu_;
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
  uint64_t last_version_ ABSL_GUARDED_BY(mu_) = 0;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread reader_;
};

}  // namespace kv::testing

#pragma once
// A scripted upstream for Subscriber tests: a real gRPC server on 127.0.0.1:<ephemeral> that
// implements the Replication service with whatever each test scripts (send a start, changes
// with a gap, a RESET, close the stream, refuse a Snapshot...). It records every hello (with
// its arrival time), every ping, and counts Snapshot calls.

#include <grpcpp/grpcpp.h>

#include <atomic>
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

using kvstore::v1::DownstreamMessage;
using kvstore::v1::UpstreamMessage;

struct HelloRecord {
  kvstore::v1::SubscribeHello hello;
  absl::Time at;
};

struct PingRecord {
  kvstore::v1::Ping ping;
  absl::Time at;
};

// One accepted Subscribe call, as a script sees it. A background thread reads the downstream's
// pings (and answers them when told to); writes from the script and the answers are serialized.
class FakeSubscribeCall {
 public:
  FakeSubscribeCall(int index, kvstore::v1::SubscribeHello hello, grpc::ServerContext* context,
                    grpc::ServerReaderWriter<UpstreamMessage, DownstreamMessage>* stream);
  ~FakeSubscribeCall();

  int index() const { return index_; }
  const kvstore::v1::SubscribeHello& hello() const { return hello_; }

  bool Send(const UpstreamMessage& message);
  bool SendStart(uint64_t head, const std::string& cluster_id);
  // One message with puts of versions from..to.
  bool SendPuts(uint64_t from, uint64_t to);
  bool SendReset(const std::string& reason);
  // From now on every ping is answered with a pong carrying `head` and `staleness`.
  void AnswerPings(uint64_t head, int64_t upstream_staleness_micros);

  std::vector<PingRecord> pings() const;
  // Waits for a ping matching `pred` (or any ping when null); false on timeout or when gone.
  bool WaitPing(std::function<bool(const kvstore::v1::Ping&)> pred, absl::Duration timeout);
  // Waits until the downstream has ended the call (cancelled, closed or broken).
  bool WaitGone(absl::Duration timeout);
  bool gone() const;

  // Ends the reader (cancelling the call unless the downstream is gone already).
  void End();

 private:
  void ReadLoop();

  const int index_;
  const kvstore::v1::SubscribeHello hello_;
  grpc::ServerContext* const context_;
  grpc::ServerReaderWriter<UpstreamMessage, DownstreamMessage>* const stream_;
  absl::Mutex write_mu_;
  mutable absl::Mutex mu_;
  std::vector<PingRecord> pings_ ABSL_GUARDED_BY(mu_);
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
  bool answer_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t answer_head_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t answer_staleness_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread reader_;
};

class FakeUpstream final : public kvstore::v1::Replication::Service {
 public:
  // What to do with one Subscribe call; its return value is the call's status (the call is
  // cancelled afterwards unless the downstream already ended it).
  using SubscribeScript = std::function<grpc::Status(FakeSubscribeCall& call)>;
  // What to do with the `index`-th Snapshot call (0-based).
  using SnapshotScript = std::function<grpc::Status(
      int index, grpc::ServerContext* context, grpc::ServerWriter<kvstore::v1::SnapshotChunk>*)>;

  // Starts the server. Without a script, a Subscribe call gets a start (head 0, cluster "fake")
  // and is held open until the downstream leaves; a Snapshot call is refused.
  FakeUpstream();
  ~FakeUpstream() override;

  const std::string& address() const { return address_; }
  std::unique_ptr<kvstore::v1::Replication::Stub> NewStub() const;

  void OnSubscribe(SubscribeScript script);
  void OnSnapshot(SnapshotScript script);

  std::vector<HelloRecord> hellos() const;
  int snapshot_calls() const { return snapshot_calls_.load(); }
  int active_calls() const { return active_calls_.load(); }
  bool WaitHellos(size_t n, absl::Duration timeout) const;

  grpc::Status Subscribe(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<UpstreamMessage, DownstreamMessage>* stream) override;
  grpc::Status Snapshot(grpc::ServerContext* context, const kvstore::v1::SnapshotRequest* request,
                        grpc::ServerWriter<kvstore::v1::SnapshotChunk>* writer) override;

 private:
  mutable absl::Mutex mu_;
  SubscribeScript subscribe_ ABSL_GUARDED_BY(mu_);
  SnapshotScript snapshot_ ABSL_GUARDED_BY(mu_);
  std::vector<HelloRecord> hellos_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> snapshot_calls_{0};
  std::atomic<int> active_calls_{0};
  std::string address_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace kv::testing

#include "replication/testing/fake_upstream.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "replication/testing/fake_applier.h"

namespace kv::testing {

using kvstore::v1::DownstreamMessage;
using kvstore::v1::UpstreamMessage;

FakeSubscribeCall::FakeSubscribeCall(
    int index, kvstore::v1::SubscribeHello hello, grpc::ServerContext* context,
    grpc::ServerReaderWriter<UpstreamMessage, DownstreamMessage>* stream)
    : index_(index), hello_(std::move(hello)), context_(context), stream_(stream) {
  reader_ = std::thread([this] { ReadLoop(); });
}

FakeSubscribeCall::~FakeSubscribeCall() { End(); }

void FakeSubscribeCall::ReadLoop() {
  DownstreamMessage m;
  while (stream_->Read(&m)) {
    if (!m.has_ping()) continue;
    bool answer = false;
    UpstreamMessage pong;
    {
      absl::MutexLock l(&mu_);
      pings_.push_back(PingRecord{m.ping(), absl::Now()});
      answer = answer_;
      pong.mutable_pong()->set_t0_micros(m.ping().t0_micros());
      pong.mutable_pong()->set_head_version(answer_head_);
      pong.mutable_pong()->set_upstream_staleness_micros(answer_staleness_);
    }
    if (answer) Send(pong);
  }
  absl::MutexLock l(&mu_);
  gone_ = true;
}

bool FakeSubscribeCall::Send(const UpstreamMessage& message) {
  absl::MutexLock l(&write_mu_);
  return stream_->Write(message);
}

bool FakeSubscribeCall::SendStart(uint64_t head, const std::string& cluster_id) {
  UpstreamMessage m;
  m.mutable_start()->set_head_version(head);
  m.mutable_start()->set_cluster_id(cluster_id);
  m.mutable_start()->set_node_id("fake-upstream");
  return Send(m);
}

bool FakeSubscribeCall::SendPuts(uint64_t from, uint64_t to) {
  UpstreamMessage m;
  AddPuts(from, to, &m);
  return Send(m);
}

bool FakeSubscribeCall::SendReset(const std::string& reason) {
  UpstreamMessage m;
  m.mutable_reset()->set_reason(reason);
  m.mutable_reset()->set_cluster_id("fake");
  return Send(m);
}

void FakeSubscribeCall::AnswerPings(uint64_t head, int64_t upstream_staleness_micros) {
  absl::MutexLock l(&mu_);
  answer_ = true;
  answer_head_ = head;
  answer_staleness_ = upstream_staleness_micros;
}

std::vector<PingRecord> FakeSubscribeCall::pings() const {
  absl::MutexLock l(&mu_);
  return pings_;
}

bool FakeSubscribeCall::WaitPing(std::function<bool(const kvstore::v1::Ping&)> pred,
                                 absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  size_t seen = 0;
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    for (; seen < pings_.size(); ++seen) {
      if (!pred || pred(pings_[seen].ping)) return true;
    }
    if (gone_) return false;
    auto more = [this, seen]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return gone_ || pings_.size() > seen; };
    if (!mu_.AwaitWithDeadline(absl::Condition(&more), deadline)) return false;
  }
}

bool FakeSubscribeCall::WaitGone(absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  auto gone = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return gone_; };
  return mu_.AwaitWithTimeout(absl::Condition(&gone), timeout);
}

bool FakeSubscribeCall::gone() const {
  absl::MutexLock l(&mu_);
  return gone_;
}

void FakeSubscribeCall::End() {
  if (!reader_.joinable()) return;
  if (!WaitGone(absl::ZeroDuration())) context_->TryCancel();
  reader_.join();
}

FakeUpstream::FakeUpstream() {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(this);
  server_ = builder.BuildAndStart();
  address_ = absl::StrCat("127.0.0.1:", port);
}

FakeUpstream::~FakeUpstream() {
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
}

std::unique_ptr<kvstore::v1::Replication::Stub> FakeUpstream::NewStub() const {
  return kvstore::v1::Replication::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
}

void FakeUpstream::OnSubscribe(SubscribeScript script) {
  absl::MutexLock l(&mu_);
  subscribe_ = std::move(script);
}

void FakeUpstream::OnSnapshot(SnapshotScript script) {
  absl::MutexLock l(&mu_);
  snapshot_ = std::move(script);
}

std::vector<HelloRecord> FakeUpstream::hellos() const {
  absl::MutexLock l(&mu_);
  return hellos_;
}

bool FakeUpstream::WaitHellos(size_t n, absl::Duration timeout) const {
  absl::MutexLock l(&mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return hellos_.size() >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

grpc::Status FakeUpstream::Subscribe(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<UpstreamMessage, DownstreamMessage>* stream) {
  DownstreamMessage first;
  if (!stream->Read(&first) || !first.has_hello()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "fake: expected a hello");
  }
  SubscribeScript script;
  int index = 0;
  {
    absl::MutexLock l(&mu_);
    index = static_cast<int>(hellos_.size());
    hellos_.push_back(HelloRecord{first.hello(), absl::Now()});
    script = subscribe_;
  }
  ++active_calls_;
  grpc::Status status;
  {
    FakeSubscribeCall call(index, first.hello(), context, stream);
    if (script) {
      status = script(call);
    } else {
      call.SendStart(0, "fake");
      call.WaitGone(absl::Seconds(30));
    }
    call.End();
  }
  --active_calls_;
  return status;
}

grpc::Status FakeUpstream::Snapshot(grpc::ServerContext* context,
                                    const kvstore::v1::SnapshotRequest* request,
                                    grpc::ServerWriter<kvstore::v1::SnapshotChunk>* writer) {
  int index = snapshot_calls_.fetch_add(1);
  SnapshotScript script;
  {
    absl::MutexLock l(&mu_);
    script = snapshot_;
  }
  if (!script) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake: no snapshots here");
  return script(index, context, writer);
}

}  // namespace kv::testing

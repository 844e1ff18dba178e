#pragma once
// One Subscribe stream on the upstream side: a thin gRPC reactor that reads the downstream's
// hello and pings and forwards every event to the Publisher, which owns all stream state and
// decides what to write.
//
// The method is raw (ReplicationService registers Subscribe with WithRawCallbackMethod): what
// is written is an UpstreamMessage already encoded by the publisher (stream_message.h), and
// what is read is parsed here. On the wire it is the same protocol as the generated one.

#include <grpcpp/grpcpp.h>

#include "kvstore/v1/replication.pb.h"

namespace kv::replication {

class Publisher;

class SubscribeStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit SubscribeStream(Publisher* publisher);
  // Starts reading; called once the publisher has registered the stream.
  void Begin();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  Publisher* const publisher_;
  grpc::ByteBuffer incoming_bytes_;
  kvstore::v1::DownstreamMessage incoming_;
  bool saw_hello_ = false;  // only touched by read callbacks, which never overlap
};

}  // namespace kv::replication

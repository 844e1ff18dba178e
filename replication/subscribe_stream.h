#pragma once
// One Subscribe stream on the upstream side: a thin gRPC reactor that reads the downstream's
// hello and pings and forwards every event to the Publisher, which owns all stream state and
// decides what to write.

#include <grpcpp/grpcpp.h>

#include "kvstore/v1/replication.pb.h"

namespace kv::replication {

class Publisher;

class SubscribeStream final
    : public grpc::ServerBidiReactor<kvstore::v1::DownstreamMessage, kvstore::v1::UpstreamMessage> {
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
  kvstore::v1::DownstreamMessage incoming_;
  bool saw_hello_ = false;  // only touched by read callbacks, which never overlap
};

}  // namespace kv::replication

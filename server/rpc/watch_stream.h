#pragma once
// KV.Watch over gRPC: a ServerWriteReactor that is one WatchSink of the node's WatchHub. The
// hub decides every write and the end (watch_sink.h); this class only moves them to gRPC and
// reports back, and puts kv-oldest-version / kv-resume-version in the trailing metadata.
//
// Watch is a raw method (KvService): the stream writes grpc::ByteBuffers, each the shared,
// already serialised bytes of a WatchMessage, so a message going to many watchers is serialised
// once (the wire format is the generated WatchResponse's).
//
// Threading and ownership: owned by gRPC; deletes itself in OnDone after telling the hub it is
// gone. The hub outlives every stream (it is stopped after the server is down).

#include <grpcpp/grpcpp.h>

#include "kvstore/v1/kv.pb.h"
#include "server/watch/watch_hub.h"
#include "server/watch/watch_sink.h"

namespace kv::server {

class WatchStream final : public grpc::ServerWriteReactor<grpc::ByteBuffer>, public WatchSink {
 public:
  // Registers with `hub` for `request` (already admitted and authorized); a refusal ends the
  // stream at once.
  static WatchStream* Start(grpc::CallbackServerContext* context, WatchHub* hub,
                            const kvstore::v1::WatchRequest& request, WatchFilter filter);
  // Ends a stream that never reached the hub (bad request, refused caller).
  static grpc::ServerWriteReactor<grpc::ByteBuffer>* Refuse(grpc::CallbackServerContext* context,
                                                            const WatchEnd& end);

  // WatchSink (the hub's thread).
  void Send(const WatchMessage& message) override { StartWrite(&message.grpc_bytes()); }
  void End(const WatchEnd& end) override;

  // gRPC.
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  WatchStream(grpc::CallbackServerContext* context, WatchHub* hub) : context_(context), hub_(hub) {}

  grpc::CallbackServerContext* const context_;
  WatchHub* hub_;  // null: refused, never registered (set before any gRPC event)
};

}  // namespace kv::server

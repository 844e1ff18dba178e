#pragma once
// One message of a WatchHub, shared by every watcher whose next message is the same (the same
// filter from the same position in the feed): the hub builds it once per planning round however
// many watchers it goes to, and each wire form is encoded once, by the first sink that asks.
// The gRPC sink writes grpc_bytes(): gRPC copies a grpc::ByteBuffer by sharing its slices, so a
// write to one more watcher serialises nothing.
//
// Threading: the hub builds it on its thread under its lock (mutable_response), then hands it
// to sinks as const and never changes it again; the encoded forms may be asked for from any
// thread (computed once, under absl::call_once).
// Ownership: shared (std::shared_ptr<const WatchMessage>) by the watchers it is in flight to.

#include <grpcpp/support/byte_buffer.h>

#include <string>

#include "absl/base/call_once.h"
#include "kvstore/v1/kv.pb.h"

namespace kv::server {

class WatchMessage {
 public:
  WatchMessage() = default;
  WatchMessage(const WatchMessage&) = delete;
  WatchMessage& operator=(const WatchMessage&) = delete;

  const kvstore::v1::WatchResponse& response() const { return response_; }
  // Only while the hub builds it, before any sink sees it.
  kvstore::v1::WatchResponse* mutable_response() { return &response_; }

  // The response serialised, as KV.Watch's raw gRPC method writes it.
  const grpc::ByteBuffer& grpc_bytes() const;

  // The response in a text form (Server-Sent Events), made by `format` on the first call; every
  // caller passes the same `format`.
  const std::string& Text(std::string (*format)(const kvstore::v1::WatchResponse&)) const {
    absl::call_once(text_once_, [&] { text_ = format(response_); });
    return text_;
  }

 private:
  kvstore::v1::WatchResponse response_;
  mutable absl::once_flag bytes_once_;
  mutable grpc::ByteBuffer bytes_;
  mutable absl::once_flag text_once_;
  mutable std::string text_;
};

}  // namespace kv::server

#pragma once
// One UpstreamMessage of the replication stream as bytes, assembled from parts that may be shared
// between streams: a change is encoded once (EncodeChange) and the same bytes go into the message
// of every stream that carries it; only the fields that differ per stream (start, pong, reset)
// are serialised per message.
//
// Why this parses as one UpstreamMessage: protobuf's encoding of a message is the concatenation
// of its fields' encodings, a repeated field's elements may be spread over it, and fields may
// come in any order. A message here is the encoded `changes` entries, in version order, followed
// by the serialised per-stream fields.
//
// Threading: a StreamMessage belongs to one stream and is used by one thread at a time (the
// publisher, under its lock or while the stream's write is not in flight). A grpc::Slice may be
// copied and released from any thread: copies share the bytes through an atomic reference count,
// so the publisher's tail, every message that carries a change and gRPC's transport each hold a
// reference, and the bytes are freed with the last one.

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <vector>

#include "kvstore/v1/replication.pb.h"

namespace kv::replication {

// The bytes of `change` as one entry of UpstreamMessage.changes (tag, length, the Change).
grpc::Slice EncodeChange(const kvstore::v1::Change& change);

class StreamMessage {
 public:
  // Empties the message for the next write (the previous write must have completed).
  void Clear();
  // Appends an encoded change (from EncodeChange); shares its bytes.
  void AddChange(const grpc::Slice& encoded);
  // The fields this stream's message has of its own (start, pong, reset); never `changes`.
  kvstore::v1::UpstreamMessage* fields() { return &fields_; }
  const kvstore::v1::UpstreamMessage& fields() const { return fields_; }
  size_t change_count() const { return changes_.size(); }
  bool empty() const { return changes_.empty() && fields_.ByteSizeLong() == 0; }
  // The bytes to write: the changes, then the serialised fields. Valid until Clear(); the
  // buffer must stay alive until the write completes.
  grpc::ByteBuffer* Seal();

 private:
  std::vector<grpc::Slice> changes_;
  kvstore::v1::UpstreamMessage fields_;
  grpc::ByteBuffer bytes_;
};

}  // namespace kv::replication

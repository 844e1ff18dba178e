#include "replication/subscribe_stream.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include "replication/publisher.h"

namespace kv::replication {

SubscribeStream::SubscribeStream(Publisher* publisher) : publisher_(publisher) {}

void SubscribeStream::Begin() { StartRead(&incoming_bytes_); }

void SubscribeStream::OnReadDone(bool ok) {
  if (!ok) {
    // The downstream closed its side or the stream broke.
    publisher_->OnClosing(this, grpc::Status::OK);
    return;
  }
  incoming_.Clear();
  if (!grpc::SerializationTraits<kvstore::v1::DownstreamMessage>::Deserialize(&incoming_bytes_,
                                                                              &incoming_)
           .ok()) {
    publisher_->OnClosing(this, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                             "a message that is not a DownstreamMessage"));
    return;
  }
  if (incoming_.has_hello()) {
    if (saw_hello_) {
      publisher_->OnClosing(this, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                               "a second hello on one Subscribe stream"));
      return;
    }
    saw_hello_ = true;
    publisher_->OnHello(this, incoming_.hello());
  } else if (incoming_.has_ping()) {
    if (!saw_hello_) {
      publisher_->OnClosing(this, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                               "the first message must be a hello"));
      return;
    }
    publisher_->OnPing(this, incoming_.ping());
  }
  StartRead(&incoming_bytes_);
}

void SubscribeStream::OnWriteDone(bool ok) { publisher_->OnWriteDone(this, ok); }

void SubscribeStream::OnCancel() {
  publisher_->OnClosing(this, grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
}

void SubscribeStream::OnDone() {
  publisher_->OnDone(this);
  delete this;
}

}  // namespace kv::replication

#include "replication/subscribe_stream.h"

#include "replication/publisher.h"

namespace kv::replication {

SubscribeStream::SubscribeStream(Publisher* publisher) : publisher_(publisher) {}

void SubscribeStream::Begin() { StartRead(&incoming_); }

void SubscribeStream::OnReadDone(bool ok) {
  if (!ok) {
    // The downstream closed its side or the stream broke.
    publisher_->OnClosing(this, grpc::Status::OK);
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
  StartRead(&incoming_);
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

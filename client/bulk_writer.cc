#include "client/bulk_writer.h"

#include <algorithm>

#include "client/convert.h"
#include "client/write_outcome.h"

namespace kv::client {

struct BulkWriterImpl::Call {
  grpc::ClientContext context;
  kvstore::v1::PutRequest request;
  kvstore::v1::PutResponse response;
  Callback done;
};

BulkWriterImpl::BulkWriterImpl(ClientImpl* client, const BulkOptions& options)
    : client_(client), window_(std::max(1, options.window)) {}

BulkWriterImpl::~BulkWriterImpl() { Flush(); }

void BulkWriterImpl::Add(std::string key, std::string value, PutOptions options, Callback done) {
  auto call = std::make_unique<Call>();
  if (absl::Status s = ToProto(key, value, options, &call->request); !s.ok()) {
    done(s);
    return;
  }
  call->done = std::move(done);
  absl::Duration timeout =
      options.timeout > absl::ZeroDuration() ? options.timeout : client_->options().timeout;
  {
    auto may_start = [this, &key]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return in_flight_ < window_ && !keys_in_flight_.contains(key);
    };
    absl::MutexLock l(&mu_, absl::Condition(&may_start));
    ++in_flight_;
    keys_in_flight_.insert(key);
  }
  // The deadline starts when the Put is sent, not while it waited for a slot.
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  client_->Authorize(&call->context);
  Call* raw = call.release();
  client_->write_endpoint().kv->async()->Put(
      &raw->context, &raw->request, &raw->response,
      [this, raw](grpc::Status status) { Finish(raw, status); });
}

void BulkWriterImpl::Finish(Call* raw, const grpc::Status& status) {
  std::unique_ptr<Call> call(raw);
  if (status.ok()) {
    if (client_->options().session) client_->ObserveVersion(call->response.version());
    call->done(PutResult{call->response.version(), call->response.expiration()});
  } else {
    call->done(WriteFailure(status));
  }
  std::string key = std::move(*call->request.mutable_key());
  // The context holds a reference to the channel. Drop it before releasing the slot: once
  // Flush() returns, the client may be destroyed, and the last channel reference must not be
  // dropped on this gRPC callback thread (gRPC would join that very thread).
  call.reset();
  // Released only after the callback ran, so Flush() also waits for the callbacks.
  absl::MutexLock l(&mu_);
  --in_flight_;
  keys_in_flight_.erase(key);
}

void BulkWriterImpl::Flush() {
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_flight_ == 0; };
  absl::MutexLock l(&mu_, absl::Condition(&idle));
}

int BulkWriterImpl::InFlight() {
  absl::MutexLock l(&mu_);
  return in_flight_;
}

std::unique_ptr<BulkWriter> ClientImpl::DoNewBulkWriter(const BulkOptions& options) {
  return std::make_unique<BulkWriterImpl>(this, options);
}

}  // namespace kv::client

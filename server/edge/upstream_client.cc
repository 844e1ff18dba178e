#include "server/edge/upstream_client.h"

#include "absl/time/clock.h"
#include "common/grpc_status.h"

namespace kv::server {

UpstreamClient::UpstreamClient(UpstreamOptions options) : options_(std::move(options)) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options_.max_message_bytes);
  args.SetMaxSendMessageSize(options_.max_message_bytes);
  // Reconnect quickly after the upstream comes back; the subscriber adds its own jittered
  // backoff on top.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  // Despite its name, gRPC uses this as the shortest time one connection attempt may take to
  // complete its handshake; at 100 ms a busy or distant node failed calls with time left.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  channel_ = grpc::CreateCustomChannel(options_.address, grpc::InsecureChannelCredentials(), args);
  kv_ = kvstore::v1::KV::NewStub(channel_);
  replication_ = kvstore::v1::Replication::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> UpstreamClient::NewContext(absl::Time deadline) const {
  return NewContext(deadline, options_.timeout);
}

std::unique_ptr<grpc::ClientContext> UpstreamClient::NewContext(absl::Time deadline,
                                                                absl::Duration cap) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  absl::Time capped = std::min(deadline, absl::Now() + cap);
  ctx->set_deadline(absl::ToChronoTime(capped));
  return ctx;
}

template <typename Start>
void UpstreamClient::Call(Start start, absl::Time deadline, absl::Duration cap, Done done) {
  grpc::ClientContext* ctx = NewContext(deadline, cap).release();
  // gRPC takes a copyable std::function; the one-shot Done lives behind a shared pointer.
  auto shared = std::make_shared<Done>(std::move(done));
  start(ctx, [ctx, shared](grpc::Status status) {
    delete ctx;
    std::move (*shared)(FromGrpcStatus(status));
  });
}

void UpstreamClient::Get(const kvstore::v1::GetRequest* request, kvstore::v1::GetResponse* response,
                         absl::Time deadline, Done done) {
  Call([&](grpc::ClientContext* ctx, auto cb) { kv_->async()->Get(ctx, request, response, cb); },
       deadline, options_.timeout, std::move(done));
}

void UpstreamClient::BatchGet(const kvstore::v1::BatchGetRequest* request,
                              kvstore::v1::BatchGetResponse* response, absl::Time deadline,
                              Done done) {
  Call([&](grpc::ClientContext* ctx,
           auto cb) { kv_->async()->BatchGet(ctx, request, response, cb); },
       deadline, options_.timeout, std::move(done));
}

void UpstreamClient::Put(const kvstore::v1::PutRequest* request, kvstore::v1::PutResponse* response,
                         absl::Time deadline, Done done) {
  Call([&](grpc::ClientContext* ctx, auto cb) { kv_->async()->Put(ctx, request, response, cb); },
       deadline, options_.write_timeout, std::move(done));
}

void UpstreamClient::Delete(const kvstore::v1::DeleteRequest* request,
                            kvstore::v1::DeleteResponse* response, absl::Time deadline, Done done) {
  Call([&](grpc::ClientContext* ctx, auto cb) { kv_->async()->Delete(ctx, request, response, cb); },
       deadline, options_.write_timeout, std::move(done));
}

void UpstreamClient::List(const kvstore::v1::ListRequest* request,
                          kvstore::v1::ListResponse* response, absl::Time deadline, Done done) {
  Call([&](grpc::ClientContext* ctx, auto cb) { kv_->async()->List(ctx, request, response, cb); },
       deadline, options_.timeout, std::move(done));
}

void UpstreamClient::Fetch(const kvstore::v1::FetchRequest* request,
                           kvstore::v1::FetchResponse* response, absl::Time deadline, Done done) {
  Call([&](grpc::ClientContext* ctx,
           auto cb) { replication_->async()->Fetch(ctx, request, response, cb); },
       deadline, options_.timeout, std::move(done));
}

}  // namespace kv::server

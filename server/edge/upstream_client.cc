#include "server/edge/upstream_client.h"

#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/channel_target.h"
#include "common/grpc_status.h"
#include "common/log.h"

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
  std::shared_ptr<grpc::ChannelCredentials> credentials = options_.security.credentials;
  if (credentials == nullptr) {
    credentials = grpc::InsecureChannelCredentials();
  } else if (!options_.security.server_name.empty()) {
    args.SetSslTargetNameOverride(options_.security.server_name);
  }
  channel_ = grpc::CreateCustomChannel(ChannelTarget(options_.address), credentials, args);
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

std::string UpstreamClient::OwnAuthorization() const {
  if (options_.token_file.empty()) return "";
  struct stat st;
  if (stat(options_.token_file.c_str(), &st) != 0) {
    KV_LOG(WARN) << "cannot read the upstream token file " << options_.token_file;
    return "";
  }
  const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  absl::MutexLock l(&token_mu_);
  if (mtime_ns != token_mtime_ns_) {
    std::ifstream in(options_.token_file, std::ios::binary);
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    token_ = std::string(absl::StripAsciiWhitespace(token));
    token_mtime_ns_ = mtime_ns;
    KV_LOG(INFO) << "read the upstream token from " << options_.token_file;
  }
  return token_.empty() ? "" : absl::StrCat("Bearer ", token_);
}

template <typename Start>
void UpstreamClient::Call(Start start, absl::Time deadline, absl::Duration cap,
                          const std::string& authorization, int hops, Done done) {
  if (hops >= kMaxForwardingHops) {
    return std::move(done)(absl::FailedPreconditionError(absl::StrCat(
        "forwarding loop: this call was already forwarded by ", hops,
        " nodes; the edges' --upstream flags probably form a ring (this node forwards to ",
        options_.address, ")")));
  }
  grpc::ClientContext* ctx = NewContext(deadline, cap).release();
  if (!authorization.empty()) ctx->AddMetadata("authorization", authorization);
  ctx->AddMetadata(kHopsMetadataKey, absl::StrCat(hops + 1));
  // gRPC takes a copyable std::function; the one-shot Done lives behind a shared pointer.
  auto shared = std::make_shared<Done>(std::move(done));
  start(ctx, [ctx, shared](grpc::Status status) {
    delete ctx;
    std::move (*shared)(FromGrpcStatus(status));
  });
}

void UpstreamClient::Get(const kvstore::v1::GetRequest* request, kvstore::v1::GetResponse* response,
                         const CallContext& call, Done done) {
  Call([&](grpc::ClientContext* ctx, auto cb) { kv_->async()->Get(ctx, request, response, cb); },
       call.deadline, options_.timeout, call.authorization, call.hops, std::move(done));
}

void UpstreamClient::BatchGet(const kvstore::v1::BatchGetRequest* request,
                              kvstore::v1::BatchGetResponse* response, const CallContext& call,
                              Done done) {
  Call([&](grpc::ClientContext* ctx,
           auto cb) { kv_->async()->BatchGet(ctx, request, response, cb); },
       call.deadline, options_.timeout, call.authorization, call.hops, std::move(done));
}

void UpstreamClient::Put(const kvstore::v1::PutRequest* request, kvstore::v1::PutResponse* response,
                         const CallContext& call, Done done) {
  Call([&](grpc::ClientContext* ctx, auto cb) { kv_->async()->Put(ctx, request, response, cb); },
       call.deadline, options_.write_timeout, call.authorization, call.hops, std::move(done));
}

void UpstreamClient::Delete(const kvstore::v1::DeleteRequest* request,
                            kvstore::v1::DeleteResponse* response, const CallContext& call,
                            Done done) {
  Call([&](grpc::ClientContext* ctx, auto cb) { kv_->async()->Delete(ctx, request, response, cb); },
       call.deadline, options_.write_timeout, call.authorization, call.hops, std::move(done));
}

void UpstreamClient::Commit(const kvstore::v1::CommitRequest* request,
                            kvstore::v1::CommitResponse* response, const CallContext& call,
                            Done done) {
  Call([&](grpc::ClientContext* ctx, auto cb) { kv_->async()->Commit(ctx, request, response, cb); },
       call.deadline, options_.write_timeout, call.authorization, call.hops, std::move(done));
}

void UpstreamClient::List(const kvstore::v1::ListRequest* request,
                          kvstore::v1::ListResponse* response, const CallContext& call, Done done) {
  Call([&](grpc::ClientContext* ctx, auto cb) { kv_->async()->List(ctx, request, response, cb); },
       call.deadline, options_.timeout, call.authorization, call.hops, std::move(done));
}

void UpstreamClient::Fetch(const kvstore::v1::FetchRequest* request,
                           kvstore::v1::FetchResponse* response, absl::Time deadline, int hops,
                           Done done) {
  Call([&](grpc::ClientContext* ctx,
           auto cb) { replication_->async()->Fetch(ctx, request, response, cb); },
       deadline, options_.timeout, OwnAuthorization(), hops, std::move(done));
}

}  // namespace kv::server

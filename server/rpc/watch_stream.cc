#include "server/rpc/watch_stream.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace kv::server {
namespace {

void AddEndMetadata(grpc::CallbackServerContext* context, const WatchEnd& end) {
  if (end.oldest_version != 0) {
    context->AddTrailingMetadata(kOldestVersionMetadataKey, absl::StrCat(end.oldest_version));
  }
  if (end.resume_version != 0) {
    context->AddTrailingMetadata(kResumeVersionMetadataKey, absl::StrCat(end.resume_version));
  }
}

}  // namespace

WatchStream* WatchStream::Start(grpc::CallbackServerContext* context, WatchHub* hub,
                                const kvstore::v1::WatchRequest& request, WatchFilter filter) {
  auto* stream = new WatchStream(context, hub);
  if (std::optional<WatchEnd> refused = hub->Add(stream, request, std::move(filter))) {
    // Not registered: the hub will never call it, so it ends itself.
    stream->hub_ = nullptr;
    stream->End(*refused);
  }
  return stream;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchStream::Refuse(
    grpc::CallbackServerContext* context, const WatchEnd& end) {
  auto* stream = new WatchStream(context, nullptr);
  stream->End(end);
  return stream;
}

void WatchStream::End(const WatchEnd& end) {
  AddEndMetadata(context_, end);
  Finish(ToGrpcStatus(end.status));
}

void WatchStream::OnWriteDone(bool ok) {
  if (hub_ != nullptr) hub_->OnSent(this, ok);
}

void WatchStream::OnCancel() {
  if (hub_ != nullptr) hub_->OnCancel(this);
}

void WatchStream::OnDone() {
  if (hub_ != nullptr) hub_->OnGone(this);
  delete this;
}

}  // namespace kv::server

#include "server/watch/watch_message.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include "common/log.h"

namespace kv::server {

const grpc::ByteBuffer& WatchMessage::grpc_bytes() const {
  absl::call_once(bytes_once_, [this] {
    bool own = false;
    // Fails only past protobuf's 2 GiB limit; a message is far smaller (max_message_bytes, and
    // one commit's own limits).
    grpc::Status s =
        grpc::SerializationTraits<kvstore::v1::WatchResponse>::Serialize(response_, &bytes_, &own);
    if (!s.ok()) {
      KV_LOG(ERROR) << "watch: a message did not serialise: " << s.error_message();
    }
  });
  return bytes_;
}

}  // namespace kv::server

#include "replication/stream_message.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace kv::replication {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedOutputStream;

grpc::Slice EncodeChange(const kvstore::v1::Change& change) {
  constexpr uint32_t kTag = WireFormatLite::MakeTag(
      kvstore::v1::UpstreamMessage::kChangesFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  const size_t size = change.ByteSizeLong();
  grpc::Slice slice(CodedOutputStream::VarintSize32(kTag) + CodedOutputStream::VarintSize64(size) +
                    size);
  // A freshly allocated slice is ours alone until it is copied: writing it is safe.
  auto* p = const_cast<uint8_t*>(slice.begin());
  p = CodedOutputStream::WriteVarint32ToArray(kTag, p);
  p = CodedOutputStream::WriteVarint64ToArray(size, p);
  change.SerializeWithCachedSizesToArray(p);
  return slice;
}

void StreamMessage::Clear() {
  changes_.clear();
  fields_.Clear();
  bytes_.Clear();
}

void StreamMessage::AddChange(const grpc::Slice& encoded) { changes_.push_back(encoded); }

grpc::ByteBuffer* StreamMessage::Seal() {
  std::vector<grpc::Slice> slices;
  slices.reserve(changes_.size() + 1);
  slices = changes_;
  const size_t size = fields_.ByteSizeLong();
  if (size > 0) {
    grpc::Slice own(size);
    fields_.SerializeWithCachedSizesToArray(const_cast<uint8_t*>(own.begin()));
    slices.push_back(std::move(own));
  }
  bytes_ = grpc::ByteBuffer(slices.data(), slices.size());
  return &bytes_;
}

}  // namespace kv::replication

#include "server/storage/record_codec.h"

namespace kv::server {
namespace {

constexpr uint8_t kFlagValueMissing = 0x1;
constexpr uint8_t kFlagValueHash = 0x2;

void PutVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint64(absl::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace

void EncodeRecord(const RecordView& record, std::string* out) {
  out->clear();
  out->reserve(1 + 10 + 10 + 5 + record.metadata.size() + record.value.size());
  out->push_back(
      static_cast<char>(record.value_missing ? (kFlagValueMissing | kFlagValueHash) : 0));
  PutVarint64(out, record.version);
  PutVarint64(out, static_cast<uint64_t>(record.expiration));
  PutVarint64(out, record.metadata.size());
  out->append(record.metadata.data(), record.metadata.size());
  if (record.value_missing) {
    for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(record.value_hash >> (8 * i)));
  } else {
    out->append(record.value.data(), record.value.size());
  }
}

bool DecodeRecord(absl::string_view encoded, RecordView* record) {
  if (encoded.empty()) return false;
  uint8_t flags = static_cast<uint8_t>(encoded.front());
  encoded.remove_prefix(1);
  uint64_t version = 0, expiration = 0, metadata_len = 0;
  if (!GetVarint64(&encoded, &version) || !GetVarint64(&encoded, &expiration) ||
      !GetVarint64(&encoded, &metadata_len) || metadata_len > encoded.size()) {
    return false;
  }
  record->version = version;
  record->expiration = static_cast<int64_t>(expiration);
  record->value_missing = (flags & kFlagValueMissing) != 0;
  record->metadata = encoded.substr(0, metadata_len);
  record->value = encoded.substr(metadata_len);
  record->value_hash = 0;
  if (record->value_missing) {
    // Older records held nothing where the value would be; newer ones hold its hash.
    absl::string_view rest = record->value;
    record->value = absl::string_view();
    if ((flags & kFlagValueHash) != 0) {
      if (rest.size() != 8) return false;
      for (int i = 0; i < 8; ++i) {
        record->value_hash |= static_cast<uint64_t>(static_cast<uint8_t>(rest[i])) << (8 * i);
      }
    }
  }
  return true;
}

}  // namespace kv::server

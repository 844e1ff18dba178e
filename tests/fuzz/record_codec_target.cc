// fuzz_record_codec: the data column family's record encoding (server/storage/record_codec.h).
//
// 1. DecodeRecord on the raw input (in an exactly sized heap buffer, so AddressSanitizer sees
//    any read past its end) must not crash; a decoded record's views lie inside the input, and
//    decoding is idempotent: decode(encode(decode(x))) == decode(x).
// 2. A record built from the input survives decode(encode(r)) == r, and every truncation of
//    its encoding either fails to decode or (cut inside the value) yields a prefix of the value.

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "server/storage/record_codec.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/targets.h"

namespace kv::fuzz {
namespace {

using server::DecodeRecord;
using server::EncodeRecord;
using server::RecordView;

bool Inside(absl::string_view part, const char* begin, size_t size) {
  return part.empty() || (part.data() >= begin && part.data() + part.size() <= begin + size);
}

bool SameRecord(const RecordView& a, const RecordView& b) {
  return a.version == b.version && a.expiration == b.expiration &&
         a.value_missing == b.value_missing && a.metadata == b.metadata && a.value == b.value &&
         a.value_hash == b.value_hash;
}

void DecodeArbitrary(const uint8_t* data, size_t size) {
  // A private copy: libFuzzer's buffer may be followed by readable bytes.
  std::unique_ptr<char[]> buffer(new char[size == 0 ? 1 : size]);
  if (size > 0) std::memcpy(buffer.get(), data, size);
  RecordView view;
  if (!DecodeRecord(absl::string_view(buffer.get(), size), &view)) return;
  KV_FUZZ_CHECK(size >= 4) << "a record needs a flag byte and three varints";
  KV_FUZZ_CHECK(Inside(view.metadata, buffer.get(), size)) << "metadata outside the input";
  KV_FUZZ_CHECK(Inside(view.value, buffer.get(), size)) << "value outside the input";
  KV_FUZZ_CHECK(view.metadata.size() + view.value.size() <= size - 4);
  std::string encoded;
  EncodeRecord(view, &encoded);
  RecordView again;
  KV_FUZZ_CHECK(DecodeRecord(encoded, &again)) << "re-encoded record does not decode";
  KV_FUZZ_CHECK(SameRecord(view, again)) << "decode(encode(decode(x))) != decode(x)";
  // A missing value's record from before checksums gains its 8-byte hash.
  KV_FUZZ_CHECK(encoded.size() <= size + 8) << "the canonical encoding is never much longer";
}

void RoundTrip(FuzzInput* in) {
  uint8_t flags = in->U8();
  std::string metadata(in->LengthPrefixed(4096));
  std::string value(in->LengthPrefixed());
  RecordView record;
  record.version = in->U64();
  record.expiration = static_cast<int64_t>(in->U64());
  record.value_missing = (flags & 1) != 0;
  if (record.value_missing) {
    value.clear();  // a missing value's record holds its hash instead
    record.value_hash = in->U64();
  }
  record.metadata = metadata;
  record.value = value;

  std::string encoded;
  EncodeRecord(record, &encoded);
  RecordView decoded;
  KV_FUZZ_CHECK(DecodeRecord(encoded, &decoded)) << "an encoded record does not decode";
  KV_FUZZ_CHECK(SameRecord(record, decoded)) << "decode(encode(r)) != r";

  // Truncations: inside the header or metadata they fail; inside the value they shorten it.
  const size_t header = encoded.size() - value.size();
  for (size_t cut : {size_t{0}, header > 0 ? header - 1 : 0, header, header + value.size() / 2}) {
    if (cut > encoded.size()) continue;
    std::unique_ptr<char[]> buffer(new char[cut == 0 ? 1 : cut]);
    std::memcpy(buffer.get(), encoded.data(), cut);
    RecordView partial;
    bool ok = DecodeRecord(absl::string_view(buffer.get(), cut), &partial);
    if (cut < header) {
      KV_FUZZ_CHECK(!ok) << "a record cut at " << cut << " of a " << header
                         << "-byte header decoded";
    } else {
      KV_FUZZ_CHECK(ok) << "a record cut inside its value failed to decode";
      KV_FUZZ_CHECK(partial.metadata == record.metadata);
      KV_FUZZ_CHECK(partial.value == record.value.substr(0, cut - header));
    }
  }
}

}  // namespace

int FuzzRecordCodec(const uint8_t* data, size_t size) {
  DecodeArbitrary(data, size);
  FuzzInput in(data, size);
  RoundTrip(&in);
  return 0;
}

}  // namespace kv::fuzz

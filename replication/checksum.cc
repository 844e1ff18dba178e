#include "replication/checksum.h"

// For XXH3_state_t on the stack (the streaming state, no allocation per record).
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cstring>

namespace kv::replication {
namespace {

// Length-prefixed fields, so no two records encode alike (a key's tail cannot pass for metadata).
void AppendU64(XXH3_state_t* state, uint64_t v) {
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(v >> (8 * i));
  XXH3_64bits_update(state, bytes, sizeof(bytes));
}

void AppendBytes(XXH3_state_t* state, absl::string_view bytes) {
  AppendU64(state, bytes.size());
  XXH3_64bits_update(state, bytes.data(), bytes.size());
}

}  // namespace

uint64_t ValueHash(absl::string_view value) { return XXH3_64bits(value.data(), value.size()); }

uint64_t RecordTerm(absl::string_view key, uint64_t version, int64_t expiration,
                    absl::string_view metadata, uint64_t value_hash) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  AppendBytes(&state, key);
  AppendU64(&state, version);
  AppendU64(&state, static_cast<uint64_t>(expiration));
  AppendBytes(&state, metadata);
  AppendU64(&state, value_hash);
  return XXH3_64bits_digest(&state);
}

}  // namespace kv::replication

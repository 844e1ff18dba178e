// fuzz_validate: arbitrary bytes parsed as one of the six validated requests and run through
// its Validate* function. Besides "never crashes", every answer is checked against the rules
// written down in docs/design.md ("Data model"): an accepted request obeys every limit, a request
// that obeys every limit is accepted, and a refusal carries a precise, bounded message with the
// right code.
//
// Input: byte 0 picks the request (bits 0-5, value % 6), the limits (bit 7: small limits, so
// the size checks are reachable with short inputs) and the encoding (bit 6): the serialized
// request, or its fields read one by one (fixed-width integers and sizes near the limits,
// which mutations of protobuf varints rarely reach).

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "kvstore/v1/kv.pb.h"
#include "kvstore/v1/replication.pb.h"
#include "server/node/limits.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/targets.h"

namespace kv::fuzz {
namespace {

using server::Limits;

// A fixed "now" keeps every input reproducible.
constexpr int64_t kNowUnix = 1'700'000'000;
// Refusals name the field and the limit; they never echo the (possibly huge) input.
constexpr size_t kMaxMessageBytes = 400;

Limits SmallLimits() {
  Limits l;
  l.max_key_bytes = 8;
  l.max_value_bytes = 16;
  l.max_metadata_bytes = 4;
  l.min_ttl_seconds = 5;
  l.max_batch_keys = 3;
  l.max_list_limit = 5;
  l.default_list_limit = 2;
  return l;
}

bool KeyOk(const Limits& l, const std::string& key) {
  return !key.empty() && key.size() <= l.max_key_bytes;
}

bool ReadOptionsOk(const kvstore::v1::ReadOptions& o) {
  return o.max_staleness_micros() >= 0 && kvstore::v1::Consistency_IsValid(o.consistency());
}

// Common checks of every answer: refusal codes, message shape, agreement with the spec.
void CheckAnswer(const absl::Status& s, bool spec_ok, const char* request,
                 std::initializer_list<const char*> fields) {
  KV_FUZZ_CHECK(s.ok() == spec_ok) << request << ": validator says " << s << " but the rules say "
                                   << (spec_ok ? "valid" : "invalid");
  if (s.ok()) return;
  KV_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument ||
                s.code() == absl::StatusCode::kResourceExhausted)
      << request << ": " << s;
  KV_FUZZ_CHECK(!s.message().empty() && s.message().size() <= kMaxMessageBytes)
      << request << ": message of " << s.message().size() << " bytes";
  bool names_field = false;
  for (const char* f : fields) names_field = names_field || absl::StrContains(s.message(), f);
  KV_FUZZ_CHECK(names_field) << request << ": message names no field: " << s.message();
}

void FuzzPut(const Limits& l, const kvstore::v1::PutRequest& r) {
  absl::Status s = server::ValidatePut(l, r, kNowUnix);
  const int64_t ttl = r.ttl_seconds(), exp = r.expiration();
  bool spec_ok = KeyOk(l, r.key()) && r.value().size() <= l.max_value_bytes &&
                 r.metadata().size() <= l.max_metadata_bytes && !(ttl != 0 && exp != 0) &&
                 (ttl == 0 || ttl >= l.min_ttl_seconds) && exp >= 0 &&
                 (exp == 0 || exp >= kNowUnix + l.min_ttl_seconds) &&
                 // The central node stores now + ttl: it must not overflow, and neither may
                 // lie beyond the latest representable expiration.
                 ttl <= server::kMaxExpirationUnix - kNowUnix && exp <= server::kMaxExpirationUnix;
  CheckAnswer(s, spec_ok, "Put", {"key", "value", "metadata", "ttl_seconds", "expiration"});
  if (s.code() == absl::StatusCode::kResourceExhausted) {
    KV_FUZZ_CHECK(r.value().size() > l.max_value_bytes) << "RESOURCE_EXHAUSTED for a small value";
  }
  if (s.ok()) {
    // What the central node computes from an accepted request stays in range.
    int64_t expiration = 0;
    KV_FUZZ_CHECK(!__builtin_add_overflow(kNowUnix, ttl, &expiration)) << "ttl " << ttl;
    KV_FUZZ_CHECK(expiration >= 0 && expiration <= server::kMaxExpirationUnix) << expiration;
  }
}

void FuzzGet(const Limits& l, const kvstore::v1::GetRequest& r) {
  CheckAnswer(server::ValidateGet(l, r), KeyOk(l, r.key()) && ReadOptionsOk(r.options()), "Get",
              {"key", "options."});
}

void FuzzFetch(const Limits& l, const kvstore::v1::FetchRequest& r) {
  CheckAnswer(server::ValidateFetch(l, r), KeyOk(l, r.key()) && ReadOptionsOk(r.options()), "Fetch",
              {"key", "options."});
}

void FuzzDelete(const Limits& l, const kvstore::v1::DeleteRequest& r) {
  CheckAnswer(server::ValidateDelete(l, r), KeyOk(l, r.key()), "Delete", {"key"});
}

void FuzzBatchGet(const Limits& l, const kvstore::v1::BatchGetRequest& r) {
  bool spec_ok = r.keys_size() >= 1 && static_cast<uint64_t>(r.keys_size()) <= l.max_batch_keys &&
                 ReadOptionsOk(r.options());
  for (const std::string& k : r.keys()) spec_ok = spec_ok && KeyOk(l, k);
  CheckAnswer(server::ValidateBatchGet(l, r), spec_ok, "BatchGet", {"keys", "options."});
}

void FuzzList(const Limits& l, const kvstore::v1::ListRequest& r) {
  bool cursor_ok = r.cursor().empty() || (absl::StartsWith(r.cursor(), r.prefix()) &&
                                          r.cursor().size() <= l.max_key_bytes);
  bool spec_ok = r.prefix().size() <= l.max_key_bytes && r.limit() <= l.max_list_limit &&
                 cursor_ok && ReadOptionsOk(r.options());
  CheckAnswer(server::ValidateList(l, r), spec_ok, "List",
              {"prefix", "limit", "cursor", "options."});
}

// Parses `bytes` as T; an accepted request must also survive a serialize/parse round trip
// with the same verdict (what an edge forwards is judged the same at the central node).
template <typename T, typename Fn>
void Run(const T& request, const Limits& limits, Fn fn) {
  fn(limits, request);
  T again;
  KV_FUZZ_CHECK(again.ParseFromString(request.SerializeAsString())) << "round trip";
  fn(limits, again);
}

// A size around `limit` (just under, at, just over) or a small one. Limits above 64 KiB (the
// default value limit) get small sizes only: building 25 MiB values would cost 100x the
// throughput, and the small limits exercise the same comparisons.
size_t SizeNear(FuzzInput* in, uint64_t limit) {
  uint8_t b = in->U8();
  if ((b & 0x80) == 0 || limit > (64 << 10)) return b & 0x3f;
  uint64_t around = limit + (b & 3);
  return static_cast<size_t>(around >= 2 ? around - 2 : 0);
}

void ReadOptionsFrom(FuzzInput* in, kvstore::v1::ReadOptions* o) {
  uint8_t which = in->U8();
  if (which & 1) o->set_consistency(static_cast<kvstore::v1::Consistency>(in->U64()));
  if (which & 2) o->set_max_staleness_micros(static_cast<int64_t>(in->U64()));
  if (which & 4) o->set_min_version(in->U64());
  o->set_allow_stale((which & 8) != 0);
}

std::string KeyFrom(FuzzInput* in, const Limits& l) {
  return std::string(SizeNear(in, l.max_key_bytes), 'k') + std::string(in->LengthPrefixed(8));
}

// The same requests, built field by field.
void RunStructured(int kind, FuzzInput* in, const Limits& l) {
  switch (kind) {
    case 0: {
      kvstore::v1::PutRequest r;
      uint8_t which = in->U8();
      r.set_key(KeyFrom(in, l));
      r.set_value(std::string(SizeNear(in, l.max_value_bytes), 'v'));
      r.set_metadata(std::string(SizeNear(in, l.max_metadata_bytes), 'm'));
      if (which & 1) r.set_ttl_seconds(static_cast<int64_t>(in->U64()));
      if (which & 2) r.set_expiration(static_cast<int64_t>(in->U64()));
      if (which & 4) r.set_if_version(in->U64());
      return Run(r, l, FuzzPut);
    }
    case 1: {
      kvstore::v1::GetRequest r;
      r.set_key(KeyFrom(in, l));
      ReadOptionsFrom(in, r.mutable_options());
      return Run(r, l, FuzzGet);
    }
    case 5: {
      kvstore::v1::FetchRequest r;
      r.set_key(KeyFrom(in, l));
      ReadOptionsFrom(in, r.mutable_options());
      return Run(r, l, FuzzFetch);
    }
    case 2: {
      kvstore::v1::BatchGetRequest r;
      size_t n = SizeNear(in, l.max_batch_keys);
      for (size_t i = 0; i < n; ++i) r.add_keys(i == 0 ? KeyFrom(in, l) : "k");
      ReadOptionsFrom(in, r.mutable_options());
      return Run(r, l, FuzzBatchGet);
    }
    case 3: {
      kvstore::v1::ListRequest r;
      r.set_prefix(KeyFrom(in, l));
      if (in->Bool()) r.set_cursor(r.prefix() + std::string(in->LengthPrefixed(8)));
      r.set_limit(static_cast<uint32_t>(in->U64()));
      ReadOptionsFrom(in, r.mutable_options());
      return Run(r, l, FuzzList);
    }
    case 4: {
      kvstore::v1::DeleteRequest r;
      r.set_key(KeyFrom(in, l));
      return Run(r, l, FuzzDelete);
    }
  }
}

template <typename T, typename Fn>
void Parse(const uint8_t* data, size_t size, const Limits& limits, Fn fn) {
  T request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return;
  Run(request, limits, fn);
}

}  // namespace

int FuzzValidate(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  static const Limits kDefault;
  static const Limits kSmall = SmallLimits();
  const Limits& limits = (selector & 0x80) != 0 ? kSmall : kDefault;
  const int kind = (selector & 0x3f) % 6;
  if ((selector & 0x40) != 0) {
    FuzzInput in(data + 1, size - 1);
    RunStructured(kind, &in, limits);
    return 0;
  }
  data += 1;
  size -= 1;
  switch (kind) {
    case 0:
      Parse<kvstore::v1::PutRequest>(data, size, limits, FuzzPut);
      break;
    case 1:
      Parse<kvstore::v1::GetRequest>(data, size, limits, FuzzGet);
      break;
    case 2:
      Parse<kvstore::v1::BatchGetRequest>(data, size, limits, FuzzBatchGet);
      break;
    case 3:
      Parse<kvstore::v1::ListRequest>(data, size, limits, FuzzList);
      break;
    case 4:
      Parse<kvstore::v1::DeleteRequest>(data, size, limits, FuzzDelete);
      break;
    case 5:
      Parse<kvstore::v1::FetchRequest>(data, size, limits, FuzzFetch);
      break;
  }
  return 0;
}

}  // namespace kv::fuzz

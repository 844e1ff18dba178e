// Writes the seed corpora of the fuzz targets: valid serialized messages, plus the classic
// hostile cases, so the fuzzers start deep inside the formats instead of at random bytes.
//
//   kv_fuzz_make_seeds tests/fuzz/corpus
//
// Files are named seed-*; rerunning overwrites them and leaves other corpus files alone.

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "kvstore/v1/kv.pb.h"
#include "kvstore/v1/replication.pb.h"
#include "replication/change_log.h"
#include "server/storage/record_codec.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/stream_harness.h"

namespace kv::fuzz {
namespace {

using kvstore::v1::Change;
using kvstore::v1::UpstreamMessage;

std::string g_root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  std::string path = g_root + "/" + target + "/seed-" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::fprintf(stderr, "cannot write %s\n", path.c_str());
}

// --- fuzz_validate ---------------------------------------------------------------------------

void Request(const std::string& name, uint8_t selector, const google::protobuf::Message& m) {
  Write("validate", name, std::string(1, static_cast<char>(selector)) + m.SerializeAsString());
}

void ValidateSeeds() {
  kvstore::v1::PutRequest put;
  put.set_key("user/42");
  put.set_value("profile");
  put.set_metadata("content-type=text");
  put.set_ttl_seconds(60);
  put.set_if_version(7);
  Request("put-ttl", 0, put);
  put.clear_ttl_seconds();
  put.set_expiration(1'800'000'000);
  Request("put-expiration", 0, put);
  put.set_value(std::string(40, 'v'));
  Request("put-small-limits", 0x80, put);
  put.set_ttl_seconds(9'000'000'000'000'000'000);
  put.clear_expiration();
  Request("put-huge-ttl", 0, put);

  kvstore::v1::GetRequest get;
  get.set_key("flags/new-ui");
  get.mutable_options()->set_consistency(kvstore::v1::CONSISTENCY_BOUNDED);
  get.mutable_options()->set_max_staleness_micros(250'000);
  get.mutable_options()->set_min_version(12);
  get.mutable_options()->set_allow_stale(true);
  Request("get", 1, get);
  get.mutable_options()->set_consistency(static_cast<kvstore::v1::Consistency>(7));
  Request("get-bad-consistency", 1, get);

  kvstore::v1::BatchGetRequest batch;
  for (const char* k : {"a", "b", "c"}) batch.add_keys(k);
  batch.mutable_options()->set_consistency(kvstore::v1::CONSISTENCY_STRONG);
  Request("batch-get", 2, batch);
  batch.add_keys("");
  Request("batch-get-empty-key", 0x82, batch);

  kvstore::v1::ListRequest list;
  list.set_prefix("user/");
  list.set_cursor("user/17");
  list.set_limit(50);
  list.set_include_values(true);
  Request("list", 3, list);
  list.set_cursor("other");
  Request("list-foreign-cursor", 3, list);

  kvstore::v1::DeleteRequest del;
  del.set_key("user/42");
  del.set_if_version(9);
  Request("delete", 4, del);

  kvstore::v1::FetchRequest fetch;
  fetch.set_key("big/blob");
  fetch.set_node_id("edge-1");
  fetch.mutable_options()->set_max_staleness_micros(-1);
  Request("fetch-negative-staleness", 5, fetch);

  // Field-by-field requests (selector bit 6), as validate_target.cc reads them.
  std::string structured_put = "\x40\x07\x83\x01k\x81\x02";
  structured_put += std::string("\x3c\0\0\0\0\0\0\0", 8);  // ttl 60
  structured_put += std::string(8, '\0');                  // expiration 0
  structured_put += std::string("\x05\0\0\0\0\0\0\0", 8);  // if_version 5
  Write("validate", "structured-put", structured_put);
  Write("validate", "structured-list",
        std::string("\x43\x02\x01p\x01\x01x\x0a\0\0\0\0\0\0\0\x00", 16));
  Write("validate", "structured-batch", std::string("\xc2\x83\x01\x01\x03", 5));
}

// --- fuzz_record_codec -----------------------------------------------------------------------

void RecordSeeds() {
  server::RecordView r;
  r.version = 12345;
  r.expiration = 1'900'000'000;
  r.metadata = "meta";
  r.value = "the value";
  std::string encoded;
  server::EncodeRecord(r, &encoded);
  Write("record_codec", "record", encoded);
  r.value_missing = true;
  r.value = "";
  r.expiration = -1;
  server::EncodeRecord(r, &encoded);
  Write("record_codec", "missing-negative-expiration", encoded);
  r = {};
  r.version = UINT64_MAX;
  server::EncodeRecord(r, &encoded);
  Write("record_codec", "max-version", encoded);
}

// --- fuzz_stream_receiver --------------------------------------------------------------------

Change Put(uint64_t v, const std::string& key, const std::string& value) {
  Change c;
  c.set_version(v);
  c.set_kind(Change::KIND_PUT);
  c.set_key(key);
  c.set_value(value);
  c.set_metadata("m");
  c.set_commit_unix_micros(1'700'000'000'000'000 + v);
  return c;
}
Change Del(uint64_t v, const std::string& key) {
  Change c;
  c.set_version(v);
  c.set_kind(Change::KIND_DELETE);
  c.set_key(key);
  return c;
}
Change Inval(uint64_t v, const std::string& key, uint64_t size) {
  Change c;
  c.set_version(v);
  c.set_kind(Change::KIND_INVALIDATE);
  c.set_key(key);
  c.set_value_size(size);
  return c;
}

UpstreamMessage Start(uint64_t head, const std::string& cluster = kSeedCluster) {
  UpstreamMessage m;
  m.mutable_start()->set_cluster_id(cluster);
  m.mutable_start()->set_head_version(head);
  m.mutable_start()->set_oldest_version(1);
  m.mutable_start()->set_node_id("central");
  return m;
}
UpstreamMessage Batch(std::vector<Change> changes) {
  UpstreamMessage m;
  for (auto& c : changes) *m.add_changes() = std::move(c);
  return m;
}
UpstreamMessage WithPong(UpstreamMessage m, int64_t t0, uint64_t head, int64_t staleness = 0) {
  m.mutable_pong()->set_t0_micros(t0);
  m.mutable_pong()->set_head_version(head);
  m.mutable_pong()->set_upstream_staleness_micros(staleness);
  return m;
}
UpstreamMessage ResetMsg() {
  UpstreamMessage m;
  m.mutable_reset()->set_oldest_version(150);
  m.mutable_reset()->set_head_version(200);
  m.mutable_reset()->set_reason("retention");
  m.mutable_reset()->set_cluster_id(kSeedCluster);
  return m;
}

void Stream(const std::string& name, std::vector<UpstreamMessage> messages, uint8_t flags = 0) {
  std::string bytes(1, static_cast<char>(flags));
  for (const auto& m : messages) AppendLengthPrefixed(m.SerializeAsString(), &bytes);
  Write("stream_receiver", name, bytes);
}

void StreamSeeds() {
  const uint64_t v = kSeedVersion;
  Stream("healthy", {Start(v + 3), Batch({Put(v + 1, "a", "new"), Del(v + 2, "b")}),
                     WithPong(Batch({Inval(v + 3, "c/1", 1 << 20)}), 500, v + 3),
                     WithPong(UpstreamMessage(), 900, v + 3), Batch({Put(v + 4, "d", "x")})});
  Stream("start-with-batch", {[&] {
           UpstreamMessage m = Start(v + 2);
           *m.add_changes() = Put(v + 1, "k", "1");
           *m.add_changes() = Put(v + 2, "k", "2");
           return WithPong(m, 100, v + 2);
         }()});
  Stream("gap", {Start(v + 5), Batch({Put(v + 2, "a", "x")}), Batch({Put(v + 1, "a", "y")})});
  Stream("reorder", {Start(v + 2), Batch({Put(v + 2, "a", "x"), Put(v + 1, "b", "y")})});
  Stream("duplicate", {Start(v + 2), Batch({Put(v + 1, "a", "x")}), Batch({Put(v + 1, "a", "y")}),
                       Batch({Put(v + 1, "a", "x"), Put(v + 1, "a", "z")})});
  Stream("empty-key", {Start(v + 2), Batch({Put(v + 1, "a", "x"), Put(v + 2, "", "y")})});
  Stream("unknown-kind", {Start(v + 1), [&] {
                            UpstreamMessage m = Batch({Put(v + 1, "a", "x")});
                            m.mutable_changes(0)->set_kind(static_cast<Change::Kind>(9));
                            return m;
                          }()});
  Stream("start-twice", {Start(v + 1), Batch({Put(v + 1, "a", "x")}), Start(v + 2),
                         Batch({Put(v + 2, "a", "y")})});
  Stream("before-start", {Batch({Put(v + 1, "a", "x")}), Start(v + 1)});
  Stream("bogus-cluster", {Start(v + 1, "other-cluster"), Batch({Put(v + 1, "a", "x")})});
  Stream("reset-mid-stream", {Start(v + 2), Batch({Put(v + 1, "a", "x")}), ResetMsg(), Start(v + 2),
                              Batch({Put(v + 2, "b", "y")})});
  Stream("big-fields",
         {Start(v + 1), Batch({Put(v + 1, std::string(600, 'k'), std::string(2000, 'v'))})});
  Stream("odd-pongs", {Start(v + 1), WithPong(UpstreamMessage(), -5, v + 1, 10),
                       WithPong(UpstreamMessage(), 1'000'000, v + 9, -3),
                       WithPong(Batch({Put(v + 1, "p", "q")}), 2'000'000, v + 1, 1'000)});
  Stream("expirations", {Start(v + 2), Batch({[&] {
                                                Change c = Put(v + 1, "e", "1");
                                                c.set_expiration(-7);
                                                return c;
                                              }(),
                                              [&] {
                                                Change c = Put(v + 2, "f", "1");
                                                c.set_expiration(1);
                                                return c;
                                              }()})});
  Stream("cache-from-head",
         {Start(500), Batch({Put(501, "a", "x"), Del(502, "a")}),
          WithPong(UpstreamMessage(), 10, 502), Batch({Put(504, "b", "y")})},
         /*flags=*/1);
}

// --- fuzz_change_log -------------------------------------------------------------------------

// Entry tags as read by change_log_target.cc: payload 0 = a Change of this version, 1 = a
// Change claiming version `other`, 2 = raw bytes.
std::string LogEntry(uint8_t version, uint8_t payload, const std::string& key,
                     const std::string& value, uint8_t other = 0) {
  std::string out;
  out.push_back(static_cast<char>(payload << 4));
  out.push_back(static_cast<char>(version));
  if (payload == 2) {
    AppendLengthPrefixed(value, &out);
    return out;
  }
  if (payload == 1) out.push_back(static_cast<char>(other));
  out.push_back(1);  // kind
  AppendLengthPrefixed(key, &out);
  AppendLengthPrefixed(value, &out);
  out.push_back(static_cast<char>(version));  // commit micros
  return out;
}

std::string LogInput(uint8_t head, uint8_t from, uint8_t max_entries, uint8_t max_bytes,
                     const std::vector<std::string>& entries) {
  std::string params;
  params.push_back(static_cast<char>(from));
  params.push_back(static_cast<char>(max_entries));
  params.push_back(static_cast<char>(max_bytes));
  params.push_back(3);   // micros
  params.push_back(10);  // max scan
  std::string out(1, static_cast<char>(head));
  AppendLengthPrefixed(params, &out);
  for (const auto& e : entries) out += e;
  return out;
}

void ChangeLogSeeds() {
  std::vector<std::string> good;
  for (uint8_t v = 1; v <= 6; ++v) good.push_back(LogEntry(v, 0, "k", "value"));
  Write("change_log", "consecutive", LogInput(6, 2, 10, 100, good));
  Write("change_log", "byte-bound", LogInput(6, 1, 10, 6, good));
  std::vector<std::string> hole = good;
  hole.erase(hole.begin() + 3);
  Write("change_log", "hole", LogInput(6, 1, 10, 100, hole));
  std::vector<std::string> corrupt = good;
  corrupt[2] = LogEntry(3, 2, "", "\xff\xff\xff");
  Write("change_log", "corrupt-payload", LogInput(6, 1, 10, 100, corrupt));
  std::vector<std::string> foreign = good;
  foreign[3] = LogEntry(4, 1, "k", "value", 9);
  Write("change_log", "foreign-version", LogInput(6, 1, 10, 100, foreign));
  // A 9-byte key between versions 3 and 4, with a raw payload.
  std::vector<std::string> raw_key = good;
  raw_key.push_back(std::string("\x21\x09\0\0\0\0\0\0\0\x03\x01\x01x", 13));
  Write("change_log", "malformed-key", LogInput(6, 1, 10, 100, raw_key));
}

}  // namespace
}  // namespace kv::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  kv::fuzz::g_root = argv[1];
  kv::fuzz::ValidateSeeds();
  kv::fuzz::RecordSeeds();
  kv::fuzz::StreamSeeds();
  kv::fuzz::ChangeLogSeeds();
  return 0;
}

#include "tests/support/raw_kv.h"

#include "absl/strings/str_cat.h"

namespace kv::testing {
namespace {
void SetDeadline(grpc::ClientContext* ctx, int ms) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
}
}  // namespace

RawKv::RawKv(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // Fresh connections per channel: a node restarted on the same port must not be reached
  // through a connection of its previous life.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxSendMessageSize(64 << 20);
  stub = kvstore::v1::KV::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

grpc::Status RawKv::Put(const std::string& key, const std::string& value,
                        kvstore::v1::PutResponse* out, int64_t ttl_seconds,
                        std::optional<uint64_t> if_version) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 10000);
  kvstore::v1::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  req.set_ttl_seconds(ttl_seconds);
  if (if_version) req.set_if_version(*if_version);
  kvstore::v1::PutResponse resp;
  return stub->Put(&ctx, req, out != nullptr ? out : &resp);
}

grpc::Status RawKv::Delete(const std::string& key, kvstore::v1::DeleteResponse* out) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 10000);
  kvstore::v1::DeleteRequest req;
  req.set_key(key);
  kvstore::v1::DeleteResponse resp;
  return stub->Delete(&ctx, req, out != nullptr ? out : &resp);
}

grpc::Status RawKv::Get(const std::string& key, kvstore::v1::GetResponse* out,
                        const kvstore::v1::ReadOptions& options, int deadline_ms) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, deadline_ms);
  kvstore::v1::GetRequest req;
  req.set_key(key);
  *req.mutable_options() = options;
  return stub->Get(&ctx, req, out);
}

grpc::Status RawKv::Content(std::map<std::string, std::string>* out,
                            const kvstore::v1::ReadOptions& options) {
  out->clear();
  std::string cursor;
  do {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, 10000);
    kvstore::v1::ListRequest req;
    req.set_cursor(cursor);
    req.set_limit(1000);
    req.set_include_values(true);
    *req.mutable_options() = options;
    kvstore::v1::ListResponse resp;
    grpc::Status s = stub->List(&ctx, req, &resp);
    if (!s.ok()) return s;
    for (const auto& e : resp.entries()) {
      (*out)[e.key()] = absl::StrCat(e.version(), "|", e.expiration(), "|", e.value());
    }
    cursor = resp.next_cursor();
  } while (!cursor.empty());
  return grpc::Status::OK;
}

kvstore::v1::ReadOptions Strong() {
  kvstore::v1::ReadOptions o;
  o.set_consistency(kvstore::v1::CONSISTENCY_STRONG);
  return o;
}

kvstore::v1::ReadOptions MinVersion(uint64_t version) {
  kvstore::v1::ReadOptions o;
  o.set_min_version(version);
  return o;
}

kvstore::v1::ReadOptions Bounded(int64_t max_staleness_micros, bool allow_stale) {
  kvstore::v1::ReadOptions o;
  o.set_max_staleness_micros(max_staleness_micros);
  o.set_allow_stale(allow_stale);
  return o;
}

}  // namespace kv::testing

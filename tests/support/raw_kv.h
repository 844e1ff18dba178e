#pragma once
// Thin synchronous helpers over the generated KV stub, for tests that must see the wire-level
// answers (source, staleness, as_of) exactly as a node sends them.

#include <map>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "kvstore/v1/kv.grpc.pb.h"

namespace kv::testing {

struct RawKv {
  explicit RawKv(const std::string& address);

  grpc::Status Put(const std::string& key, const std::string& value,
                   kvstore::v1::PutResponse* out = nullptr, int64_t ttl_seconds = 0,
                   std::optional<uint64_t> if_version = std::nullopt);
  grpc::Status Delete(const std::string& key, kvstore::v1::DeleteResponse* out = nullptr);
  grpc::Status Get(const std::string& key, kvstore::v1::GetResponse* out,
                   const kvstore::v1::ReadOptions& options = {}, int deadline_ms = 5000);

  // Every live key with its value, version and expiration, via List pages (bounded reads).
  // The map's value is "version|expiration|value".
  grpc::Status Content(std::map<std::string, std::string>* out,
                       const kvstore::v1::ReadOptions& options = {});

  std::unique_ptr<kvstore::v1::KV::Stub> stub;
};

kvstore::v1::ReadOptions Strong();
kvstore::v1::ReadOptions MinVersion(uint64_t version);
kvstore::v1::ReadOptions Bounded(int64_t max_staleness_micros, bool allow_stale = false);

}  // namespace kv::testing

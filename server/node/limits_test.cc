#include "server/node/limits.h"

#include <gtest/gtest.h>

namespace kv::server {
namespace {

constexpr int64_t kNow = 1'700'000'000;

kvstore::v1::PutRequest PutOf(std::string key, std::string value) {
  kvstore::v1::PutRequest r;
  r.set_key(std::move(key));
  r.set_value(std::move(value));
  return r;
}

void ExpectError(const absl::Status& s, absl::StatusCode code, const std::string& mentions) {
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_NE(s.message().find(mentions), std::string::npos) << s;
}

TEST(Limits, KeyLengthBounds) {
  Limits limits;
  ExpectError(ValidatePut(limits, PutOf("", "v"), kNow), absl::StatusCode::kInvalidArgument,
              "key is empty");
  EXPECT_TRUE(ValidatePut(limits, PutOf(std::string(512, 'k'), "v"), kNow).ok());
  ExpectError(ValidatePut(limits, PutOf(std::string(513, 'k'), "v"), kNow),
              absl::StatusCode::kInvalidArgument, "limit of 512 bytes");
}

TEST(Limits, ValueAndMetadataBounds) {
  Limits limits;
  limits.max_value_bytes = 1000;
  EXPECT_TRUE(ValidatePut(limits, PutOf("k", std::string(1000, 'v')), kNow).ok());
  ExpectError(ValidatePut(limits, PutOf("k", std::string(1001, 'v')), kNow),
              absl::StatusCode::kResourceExhausted, "value is 1001 bytes");
  auto r = PutOf("k", "v");
  r.set_metadata(std::string(1025, 'm'));
  ExpectError(ValidatePut(limits, r, kNow), absl::StatusCode::kInvalidArgument,
              "metadata is 1025 bytes, over the limit of 1024");
}

TEST(Limits, TtlAndExpiration) {
  Limits limits;
  auto r = PutOf("k", "v");
  r.set_ttl_seconds(-5);
  ExpectError(ValidatePut(limits, r, kNow), absl::StatusCode::kInvalidArgument, "ttl_seconds");
  r.set_ttl_seconds(1);
  EXPECT_TRUE(ValidatePut(limits, r, kNow).ok());
  r.set_expiration(kNow + 100);
  ExpectError(ValidatePut(limits, r, kNow), absl::StatusCode::kInvalidArgument, "both set");
  r.clear_ttl_seconds();
  EXPECT_TRUE(ValidatePut(limits, r, kNow).ok());
  r.set_expiration(kNow - 1);
  ExpectError(ValidatePut(limits, r, kNow), absl::StatusCode::kInvalidArgument, "expiration");
}

TEST(Limits, BatchGetAndList) {
  Limits limits;
  kvstore::v1::BatchGetRequest b;
  ExpectError(ValidateBatchGet(limits, b), absl::StatusCode::kInvalidArgument, "keys is empty");
  for (int i = 0; i < 101; ++i) b.add_keys("k");
  ExpectError(ValidateBatchGet(limits, b), absl::StatusCode::kInvalidArgument, "limit of 100");
  b.mutable_keys()->RemoveLast();
  b.set_keys(7, "");
  ExpectError(ValidateBatchGet(limits, b), absl::StatusCode::kInvalidArgument, "keys[7]");

  kvstore::v1::ListRequest l;
  l.set_limit(1001);
  ExpectError(ValidateList(limits, l), absl::StatusCode::kInvalidArgument, "maximum of 1000");
  l.set_limit(10);
  l.set_prefix("a/");
  l.set_cursor("b/1");
  ExpectError(ValidateList(limits, l), absl::StatusCode::kInvalidArgument, "cursor");
}

TEST(Limits, ReadOptions) {
  Limits limits;
  kvstore::v1::GetRequest g;
  g.set_key("k");
  g.mutable_options()->set_max_staleness_micros(-1);
  ExpectError(ValidateGet(limits, g), absl::StatusCode::kInvalidArgument, "max_staleness");
}

kvstore::v1::CommitRequest CommitOfPuts(int n, size_t value_bytes) {
  kvstore::v1::CommitRequest r;
  for (int i = 0; i < n; ++i) {
    *r.add_mutations()->mutable_put() =
        PutOf("k" + std::to_string(i), std::string(value_bytes, 'v'));
  }
  return r;
}

TEST(Limits, CommitSizeBounds) {
  Limits limits;
  ExpectError(ValidateCommit(limits, kvstore::v1::CommitRequest(), kNow),
              absl::StatusCode::kInvalidArgument, "mutations is empty");
  EXPECT_TRUE(ValidateCommit(limits, CommitOfPuts(1000, 10), kNow).ok());
  ExpectError(ValidateCommit(limits, CommitOfPuts(1001, 10), kNow),
              absl::StatusCode::kInvalidArgument, "1001 mutations, over the limit of 1000");
  // 10 MiB of keys, values and metadata: 100 values of 100 KiB fit, 105 do not.
  EXPECT_TRUE(ValidateCommit(limits, CommitOfPuts(100, 100 << 10), kNow).ok());
  ExpectError(ValidateCommit(limits, CommitOfPuts(105, 100 << 10), kNow),
              absl::StatusCode::kInvalidArgument, "over the limit of 10485760 bytes (10 MiB)");
}

TEST(Limits, CommitShape) {
  Limits limits;
  kvstore::v1::CommitRequest dup = CommitOfPuts(2, 1);
  dup.add_mutations()->mutable_delete_()->set_key("k1");
  ExpectError(ValidateCommit(limits, dup, kNow), absl::StatusCode::kInvalidArgument,
              "mutations[2] mutates key 'k1' again");
  kvstore::v1::CommitRequest empty_op = CommitOfPuts(1, 1);
  empty_op.add_mutations();
  ExpectError(ValidateCommit(limits, empty_op, kNow), absl::StatusCode::kInvalidArgument,
              "mutations[1] has no operation");
  kvstore::v1::CommitRequest conditional = CommitOfPuts(1, 1);
  conditional.mutable_mutations(0)->mutable_put()->set_if_version(3);
  ExpectError(ValidateCommit(limits, conditional, kNow), absl::StatusCode::kInvalidArgument,
              "mutations[0].put.if_version is set");
  kvstore::v1::CommitRequest bad_key = CommitOfPuts(1, 1);
  bad_key.add_mutations()->mutable_add()->set_key(std::string(513, 'k'));
  ExpectError(ValidateCommit(limits, bad_key, kNow), absl::StatusCode::kInvalidArgument,
              "mutations[1].add.key is 513 bytes");
  kvstore::v1::CommitRequest both = CommitOfPuts(1, 1);
  both.add_checks()->set_key("c");
  ExpectError(ValidateCommit(limits, both, kNow), absl::StatusCode::kInvalidArgument,
              "checks[0] must give exactly one of version (> 0) and absent");
  both.mutable_checks(0)->set_absent(true);
  EXPECT_TRUE(ValidateCommit(limits, both, kNow).ok());
  both.mutable_checks(0)->set_version(2);
  ExpectError(ValidateCommit(limits, both, kNow), absl::StatusCode::kInvalidArgument,
              "exactly one");
}

}  // namespace
}  // namespace kv::server

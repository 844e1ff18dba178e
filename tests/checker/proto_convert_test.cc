#include "tests/checker/proto_convert.h"

#include <gtest/gtest.h>

#include "tests/checker/hash.h"

namespace kv::checker {
namespace {

TEST(ProtoConvertTest, ChangeToLogEntry) {
  kvstore::v1::Change c;
  c.set_version(5);
  c.set_kind(kvstore::v1::Change::KIND_PUT);
  c.set_key("k");
  c.set_value("v");
  c.set_expiration(77);
  LogEntry e = LogEntryFromChange(c);
  EXPECT_EQ(e.version, 5u);
  EXPECT_EQ(e.kind, ChangeKind::kPut);
  EXPECT_TRUE(e.has_value_hash);
  EXPECT_EQ(e.value_hash, HashValue("v"));
  EXPECT_EQ(e.expiration, 77);

  c.set_kind(kvstore::v1::Change::KIND_INVALIDATE);
  c.clear_value();
  EXPECT_FALSE(LogEntryFromChange(c).has_value_hash);
  c.set_kind(kvstore::v1::Change::KIND_DELETE);
  EXPECT_EQ(LogEntryFromChange(c).kind, ChangeKind::kDelete);
}

TEST(ProtoConvertTest, GetResponseToOperation) {
  kvstore::v1::GetResponse r;
  r.set_found(true);
  r.mutable_entry()->set_value("v");
  r.mutable_entry()->set_version(8);
  r.mutable_info()->set_as_of_version(10);
  r.mutable_info()->set_staleness_micros(1500);
  r.mutable_info()->set_source(kvstore::v1::SOURCE_EDGE_CACHE);
  Operation op;
  FillFromGetResponse(r, &op);
  EXPECT_TRUE(op.found);
  EXPECT_EQ(op.value_hash, HashValue("v"));
  EXPECT_EQ(op.version, 8u);
  EXPECT_EQ(op.as_of_version, 10u);
  EXPECT_EQ(op.staleness_micros, 1500);
  EXPECT_EQ(op.source, Source::kEdgeCache);

  kvstore::v1::DeleteResponse d;
  d.set_deleted(false);
  d.set_version(12);
  Operation del;
  FillFromDeleteResponse(d, &del);
  EXPECT_FALSE(del.found);
  EXPECT_EQ(del.version, 12u);
}

}  // namespace
}  // namespace kv::checker

#include "replication/stream_message.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <gtest/gtest.h>

#include <string>

#include "google/protobuf/util/message_differencer.h"

namespace kv::replication {
namespace {

using kvstore::v1::Change;
using kvstore::v1::UpstreamMessage;

Change Put(uint64_t version, const std::string& key, const std::string& value) {
  Change c;
  c.set_version(version);
  c.set_kind(Change::KIND_PUT);
  c.set_key(key);
  c.set_value(value);
  c.set_commit_unix_micros(1'700'000'000'000'000 + version);
  c.set_checksum(version * 7919);
  return c;
}

UpstreamMessage Parse(grpc::ByteBuffer* bytes) {
  grpc::ByteBuffer copy(*bytes);  // Deserialize consumes its buffer
  UpstreamMessage parsed;
  EXPECT_TRUE(grpc::SerializationTraits<UpstreamMessage>::Deserialize(&copy, &parsed).ok());
  return parsed;
}

// Changes encoded once and the per-stream fields parse as the message built the usual way.
TEST(StreamMessage, ParsesAsTheMessageWithTheSameFields) {
  Change commit;
  commit.set_version(3);
  commit.set_kind(Change::KIND_COMMIT);
  *commit.add_parts() = Put(0, "a", "x");
  commit.add_parts()->set_kind(Change::KIND_DELETE);
  commit.mutable_parts(1)->set_key("b");
  std::vector<Change> changes = {Put(1, "k1", std::string(300, 'v')), Put(2, "k2", ""), commit};

  StreamMessage message;
  UpstreamMessage expected;
  for (const Change& c : changes) {
    message.AddChange(EncodeChange(c));
    *expected.add_changes() = c;
  }
  message.fields()->mutable_start()->set_cluster_id("cluster");
  message.fields()->mutable_pong()->set_t0_micros(42);
  message.fields()->mutable_pong()->set_head_version(3);
  *expected.mutable_start() = message.fields()->start();
  *expected.mutable_pong() = message.fields()->pong();
  EXPECT_EQ(message.change_count(), 3u);
  EXPECT_FALSE(message.empty());

  UpstreamMessage parsed = Parse(message.Seal());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, expected))
      << parsed.DebugString();
}

// One encoding in two messages: both carry the same change; each has only its own pong.
TEST(StreamMessage, OneEncodingServesSeveralMessages) {
  grpc::Slice encoded = EncodeChange(Put(7, "shared", "value"));
  StreamMessage first, second;
  first.AddChange(encoded);
  second.AddChange(encoded);
  second.fields()->mutable_pong()->set_head_version(7);
  UpstreamMessage a = Parse(first.Seal());
  UpstreamMessage b = Parse(second.Seal());
  ASSERT_EQ(a.changes_size(), 1);
  ASSERT_EQ(b.changes_size(), 1);
  EXPECT_EQ(a.changes(0).key(), "shared");
  EXPECT_EQ(b.changes(0).version(), 7u);
  EXPECT_FALSE(a.has_pong());
  EXPECT_EQ(b.pong().head_version(), 7u);
  // A message is reusable after Clear.
  first.Clear();
  EXPECT_TRUE(first.empty());
  first.fields()->mutable_reset()->set_reason("r");
  UpstreamMessage c = Parse(first.Seal());
  EXPECT_EQ(c.changes_size(), 0);
  EXPECT_EQ(c.reset().reason(), "r");
}

// A change of 25 MiB (the largest value) encodes with its multi-byte length.
TEST(StreamMessage, LargeChange) {
  StreamMessage message;
  message.AddChange(EncodeChange(Put(1, "big", std::string(25 << 20, 'b'))));
  UpstreamMessage parsed = Parse(message.Seal());
  ASSERT_EQ(parsed.changes_size(), 1);
  EXPECT_EQ(parsed.changes(0).value().size(), 25u << 20);
}

}  // namespace
}  // namespace kv::replication

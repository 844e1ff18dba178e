// Replication.Snapshot as served by server::ReplicationService over a real VersionedStore:
// every live key at one version, in bounded chunks, unaffected by writes during the stream.

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "replication/testing/fake_applier.h"
#include "replication/testing/upstream_node.h"
#include "server/node/limits.h"
#include "tests/support/temp_dir.h"

namespace kv::replication {
namespace {

using kvstore::v1::Change;
using testing::UpstreamNode;

class SnapshotTest : public ::testing::Test {
 protected:
  void Open(testing::UpstreamNodeOptions options = {}) {
    node_ = UpstreamNode::Start(dir_.path(), std::move(options));
    ASSERT_NE(node_, nullptr);
    stub_ = node_->NewStub();
  }

  kv::testing::TempDir dir_;
  std::unique_ptr<UpstreamNode> node_;
  std::unique_ptr<kvstore::v1::Replication::Stub> stub_;
};

TEST_F(SnapshotTest, StreamsEveryLiveKeyAtOneVersionInBoundedChunks) {
  testing::UpstreamNodeOptions options;
  options.service.snapshot_chunk_bytes = 4096;
  Open(options);
  std::vector<Change> changes;
  for (int i = 0; i < 400; ++i) {
    changes.push_back(testing::MakePut(0, "key" + std::to_string(i),
                                       std::string(100, 'a' + i % 26) + std::to_string(i)));
  }
  for (int i = 0; i < 400; i += 10)
    changes.push_back(testing::MakeDelete(0, "key" + std::to_string(i)));
  for (int i = 0; i < 20; ++i) {
    changes.push_back(testing::MakePut(0, "expired" + std::to_string(i), "x"));
    changes.back().set_expiration(1000);  // long past
  }
  changes.push_back(testing::MakePut(0, "later", "y"));
  changes.back().set_expiration(4'000'000'000);
  Change huge = testing::MakePut(0, "huge", "");
  huge.set_kind(Change::KIND_INVALIDATE);
  huge.set_value_size(1 << 20);
  changes.push_back(huge);
  std::map<std::string, Change> live;
  // Expired keys not yet swept travel too: they count in the checksum until their deletion.
  for (const Change& c : node_->Commit(changes)) {
    if (c.kind() == Change::KIND_DELETE) {
      live.erase(c.key());
    } else {
      live[c.key()] = c;
    }
  }
  const uint64_t version = node_->store()->head_version();

  grpc::ClientContext ctx;
  kvstore::v1::SnapshotRequest request;
  request.set_node_id("edge-9");
  auto reader = stub_->Snapshot(&ctx, request);
  std::vector<kvstore::v1::SnapshotChunk> chunks(1);
  ASSERT_TRUE(reader->Read(&chunks[0]));
  // Writes after the snapshot began are not in it.
  std::vector<Change> later;
  for (int i = 0; i < 400; ++i)
    later.push_back(testing::MakePut(0, "key" + std::to_string(i), "new"));
  later.push_back(testing::MakePut(0, "added", "new"));
  node_->Commit(later);
  kvstore::v1::SnapshotChunk chunk;
  while (reader->Read(&chunk)) chunks.push_back(chunk);
  ASSERT_TRUE(reader->Finish().ok());

  EXPECT_GT(chunks.size(), 5u);
  std::map<std::string, kvstore::v1::Entry> got;
  std::set<std::string> missing;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const auto& c = chunks[i];
    EXPECT_EQ(c.version(), version) << "chunk " << i;
    EXPECT_EQ(c.cluster_id(), node_->cluster_id());
    EXPECT_EQ(c.last(), i + 1 == chunks.size()) << "chunk " << i;
    EXPECT_GT(c.total_keys(), 0u);
    size_t bytes = 0;
    for (const auto& e : c.entries()) {
      bytes += e.key().size() + e.value().size();
      EXPECT_TRUE(got.emplace(e.key(), e).second) << "twice: " << e.key();
    }
    for (const auto& e : c.missing_values()) missing.insert(e.key());
    EXPECT_LE(bytes, 4096u + 200) << "chunk " << i;
  }
  EXPECT_EQ(missing, std::set<std::string>{"huge"});
  EXPECT_EQ(got.size() + missing.size(), live.size());
  // Each chunk carries the source's checksum at the snapshot's version.
  int hashes = 0;
  for (const auto& c : chunks) {
    EXPECT_TRUE(c.has_checksum());
    EXPECT_EQ(c.missing_value_hashes_size(), c.missing_values_size());
    hashes += c.missing_value_hashes_size();
  }
  EXPECT_EQ(hashes, 1);
  for (const auto& [key, c] : live) {
    if (key == "huge") continue;
    auto it = got.find(key);
    ASSERT_NE(it, got.end()) << key;
    EXPECT_EQ(it->second.value(), c.value()) << key;
    EXPECT_EQ(it->second.version(), c.version()) << key;
    EXPECT_EQ(it->second.expiration(), c.expiration()) << key;
  }
  EXPECT_EQ(node_->service()->snapshots_served(), 1u);
}

// Regression: a chunk used to close only after passing its byte budget, so a maximal value after
// a few MiB of others made a chunk larger than the gRPC limit and a full edge never bootstrapped.
TEST_F(SnapshotTest, AChunkStaysWithinTheMessageLimit) {
  server::Limits limits;
  limits.max_value_bytes = 5 << 20;  // scaled down from 25 MiB; the arithmetic is the same
  testing::UpstreamNodeOptions options;
  options.max_message_bytes = limits.MaxMessageBytes();
  Open(options);
  node_->Commit({testing::MakePut(0, "a", std::string(7 << 19, 'a')),  // 3.5 MiB
                 testing::MakePut(0, "b", std::string(limits.max_value_bytes, 'b'))});
  grpc::ClientContext ctx;
  auto reader = stub_->Snapshot(&ctx, kvstore::v1::SnapshotRequest());
  kvstore::v1::SnapshotChunk chunk;
  std::set<std::string> keys;
  while (reader->Read(&chunk)) {
    for (const auto& e : chunk.entries()) keys.insert(e.key());
  }
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(keys, (std::set<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace kv::replication

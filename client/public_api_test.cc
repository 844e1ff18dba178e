// The public header on its own: no gRPC or generated protobuf types come with it, defaults live
// on the non-virtual calls, and a test double only overrides the protected Do* methods.

#include "kv/client.h"

#ifdef GOOGLE_PROTOBUF_INCLUDED_kvstore_2fv1_2fadmin_2eproto
#error "kv/client.h must not include generated protobuf headers"
#endif
#ifdef GOOGLE_PROTOBUF_INCLUDED_kvstore_2fv1_2fkv_2eproto
#error "kv/client.h must not include generated protobuf headers"
#endif
#ifdef GRPCPP_GRPCPP_H
#error "kv/client.h must not include gRPC"
#endif

#include <gtest/gtest.h>

#include <map>

namespace kv::client {
namespace {

// An in-memory Client, as a user of the library might write for their own tests.
class MemoryClient final : public Client {
 public:
  ReadOptions last_read;
  PutOptions last_put;
  absl::Duration last_status_timeout = absl::InfiniteDuration();
  std::string last_status_endpoint = "unset";
  bool lose_answers = false;

 protected:
  absl::StatusOr<GetResult> DoGet(absl::string_view key, const ReadOptions& options) override {
    last_read = options;
    GetResult r;
    auto it = data_.find(std::string(key));
    r.found = it != data_.end();
    if (r.found) r.entry = it->second;
    return r;
  }
  absl::StatusOr<BatchGetResult> DoBatchGet(const std::vector<std::string>& keys,
                                            const ReadOptions& options) override {
    last_read = options;
    return BatchGetResult{};
  }
  absl::StatusOr<ListResult> DoList(const ListOptions& list, const ReadOptions& options) override {
    last_read = options;
    return ListResult{};
  }
  absl::StatusOr<PutResult> DoPut(absl::string_view key, absl::string_view value,
                                  const PutOptions& options) override {
    last_put = options;
    Entry& e = data_[std::string(key)];
    e.key = std::string(key);
    e.value = std::string(value);
    e.version = ++version_;
    if (lose_answers) return MarkOutcomeUnknown(absl::UnavailableError("lost"));
    return PutResult{version_, 0};
  }
  absl::StatusOr<DeleteResult> DoDelete(absl::string_view key,
                                        const DeleteOptions& options) override {
    const bool deleted = data_.erase(std::string(key)) > 0;
    return DeleteResult{deleted, deleted ? ++version_ : version_};
  }
  absl::StatusOr<CommitResult> DoCommit(const std::vector<CommitCheck>& checks,
                                        const std::vector<CommitMutation>& mutations,
                                        const CommitOptions& options) override {
    return absl::UnimplementedError("not in memory");
  }
  std::unique_ptr<BulkWriter> DoNewBulkWriter(const BulkOptions& options) override {
    return nullptr;
  }
  absl::StatusOr<NodeStatus> DoStatus(absl::string_view endpoint, absl::Duration timeout) override {
    last_status_endpoint = std::string(endpoint);
    last_status_timeout = timeout;
    NodeStatus s;
    s.role = "central";
    s.head_version = version_;
    return s;
  }
  uint64_t DoSessionVersion() const override { return session_; }
  void DoSetSessionVersion(uint64_t v) override { session_ = v; }

 private:
  std::map<std::string, Entry> data_;
  uint64_t version_ = 0;
  uint64_t session_ = 0;
};

TEST(PublicApiTest, ATestDoubleGetsTheDefaultsFromTheNonVirtualCalls) {
  MemoryClient memory;
  Client& c = memory;
  ReadOptions strong;
  strong.consistency = Consistency::kStrong;
  strong.min_version = 3;
  ASSERT_TRUE(c.Get("k", strong).ok());
  EXPECT_EQ(memory.last_read.consistency, Consistency::kStrong);
  ASSERT_TRUE(c.Get("k").ok());  // the default ReadOptions
  EXPECT_EQ(memory.last_read.consistency, Consistency::kBounded);
  EXPECT_EQ(memory.last_read.min_version, 0u);
  EXPECT_TRUE(memory.last_read.use_session);

  PutOptions ttl;
  ttl.ttl = absl::Seconds(30);
  ASSERT_TRUE(c.Put("k", "v", ttl).ok());
  EXPECT_EQ(memory.last_put.ttl, absl::Seconds(30));
  absl::StatusOr<PutResult> w = c.Put("k", "v2");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(memory.last_put.ttl, absl::ZeroDuration());
  EXPECT_EQ(c.Get("k")->entry.value, "v2");
  EXPECT_TRUE(c.Delete("k")->deleted);
  EXPECT_TRUE(c.BatchGet({"a"}).ok());
  EXPECT_TRUE(c.List({}).ok());
  EXPECT_EQ(c.NewBulkWriter(), nullptr);

  absl::StatusOr<NodeStatus> s = c.Status();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(memory.last_status_endpoint, "");
  EXPECT_EQ(memory.last_status_timeout, absl::ZeroDuration());
  EXPECT_EQ(s->role, "central");
  EXPECT_EQ(s->head_version, 3u);

  c.SetSessionVersion(9);
  EXPECT_EQ(c.session_version(), 9u);

  memory.lose_answers = true;
  absl::Status lost = c.Put("k", "v3").status();
  EXPECT_TRUE(IsOutcomeUnknown(lost)) << lost;
  EXPECT_EQ(c.Get("k")->entry.value, "v3");  // it was applied after all
}

}  // namespace
}  // namespace kv::client

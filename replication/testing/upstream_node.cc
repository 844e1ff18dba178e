#include "replication/testing/upstream_node.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace kv::testing {

using kvstore::v1::Change;

std::unique_ptr<UpstreamNode> UpstreamNode::Start(const std::string& dir,
                                                  UpstreamNodeOptions options) {
  std::unique_ptr<UpstreamNode> node(new UpstreamNode());
  node->options_ = options;
  server::StoreOptions store_options;
  store_options.path = dir;
  store_options.sync = false;
  store_options.block_cache_bytes = 8 << 20;
  auto store = server::VersionedStore::Open(store_options);
  if (!store.ok()) return nullptr;
  node->store_ = std::move(*store);
  if (options.central) {
    auto cluster = node->store_->EnsureClusterId();
    if (!cluster.ok()) return nullptr;
  }
  node->cluster_id_ = node->store_->cluster_id();
  auto staleness = options.staleness ? options.staleness : [] { return int64_t{0}; };
  if (!options.publisher.readable_head) {
    server::VersionedStore* readable = node->store_.get();
    options.publisher.readable_head = [readable] { return readable->head_version(); };
  }
  node->publisher_ = std::make_unique<replication::Publisher>(
      &node->store_->log(), options.clock, options.publisher, node->cluster_id_,
      node->store_->head_version(), staleness);
  node->service_ = std::make_unique<server::ReplicationService>(
      node.get(), /*node=*/nullptr, /*gate=*/nullptr, options.clock, /*tracker=*/nullptr,
      options.service);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.RegisterService(node->service_.get());
  node->server_ = builder.BuildAndStart();
  if (node->server_ == nullptr || port == 0) return nullptr;
  node->address_ = absl::StrCat("127.0.0.1:", port);
  return node;
}

absl::Status UpstreamNode::CanServeDownstreams() const {
  if (options_.can_serve) return options_.can_serve();
  absl::MutexLock l(&mu_);
  return can_serve_;
}

UpstreamNode::~UpstreamNode() {
  // The central node's shutdown order: end the streams, stop the server, join the publisher.
  if (publisher_) publisher_->FinishAll();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (publisher_) publisher_->Stop();
}

std::unique_ptr<kvstore::v1::Replication::Stub> UpstreamNode::NewStub(int max_message_bytes) const {
  grpc::ChannelArguments args;
  int limit = max_message_bytes > 0 ? max_message_bytes : options_.max_message_bytes;
  args.SetMaxReceiveMessageSize(limit);
  args.SetMaxSendMessageSize(limit);
  return kvstore::v1::Replication::NewStub(
      grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args));
}

std::vector<Change> UpstreamNode::Commit(std::vector<Change> changes) {
  std::vector<std::shared_ptr<const Change>> shared = CommitToStore(std::move(changes));
  Publish(shared);
  std::vector<Change> committed;
  for (const auto& c : shared) committed.push_back(*c);
  return committed;
}

std::vector<std::shared_ptr<const Change>> UpstreamNode::CommitToStore(
    std::vector<Change> changes) {
  uint64_t v = store_->head_version();
  std::vector<const Change*> pointers;
  for (Change& c : changes) {
    c.set_version(++v);
    pointers.push_back(&c);
  }
  if (!store_->Apply(pointers).ok()) return {};
  std::vector<std::shared_ptr<const Change>> shared;
  for (Change& c : changes) shared.push_back(std::make_shared<const Change>(std::move(c)));
  return shared;
}

void UpstreamNode::Publish(const std::vector<std::shared_ptr<const Change>>& changes) {
  publisher_->Append(changes);
}

std::vector<Change> UpstreamNode::CommitPuts(int n, size_t value_bytes, int keys) {
  std::vector<Change> changes(n);
  for (int i = 0; i < n; ++i) {
    uint64_t id = next_value_++;
    changes[i].set_kind(Change::KIND_PUT);
    changes[i].set_key(absl::StrCat("k", id % keys));
    std::string value = absl::StrCat("value-", id, "-");
    value.resize(std::max(value.size(), value_bytes), 'x');
    changes[i].set_value(std::move(value));
  }
  return Commit(std::move(changes));
}

void UpstreamNode::set_can_serve(absl::Status status) {
  absl::MutexLock l(&mu_);
  can_serve_ = std::move(status);
}

}  // namespace kv::testing
